import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The OAuth tables move onto the kit's abstract models: one row per access token carrying
    its grant's refresh token, in place of separate access and refresh rows. Sandbox data only:
    the old tokens are dropped, a connection re-authorizes."""

    dependencies = [("sandbox_hubspot", "0001_initial")]

    operations = [
        migrations.DeleteModel(name="HubSpotSandboxToken"),
        migrations.DeleteModel(name="HubSpotSandboxAuthorizationCode"),
        migrations.CreateModel(
            name="HubSpotSandboxAuthorizationCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=255, unique=True)),
                ("client_id", models.CharField(max_length=191)),
                ("scopes", models.JSONField(default=list)),
                ("redirect_uri", models.CharField(blank=True, max_length=2000)),
                ("code_challenge", models.CharField(blank=True, max_length=128)),
                ("expires_at", models.DateTimeField()),
                ("redeemed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="authorization_codes",
                        to="sandbox_hubspot.hubspotsandboxportal",
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.CreateModel(
            name="HubSpotSandboxAccessToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("client_id", models.CharField(max_length=191)),
                ("access_token", models.CharField(max_length=255, unique=True)),
                ("refresh_token", models.CharField(blank=True, db_index=True, max_length=255)),
                ("refresh_token_expires_at", models.DateTimeField(blank=True, null=True)),
                ("is_pkce", models.BooleanField(default=False)),
                ("scopes", models.JSONField(default=list)),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tokens",
                        to="sandbox_hubspot.hubspotsandboxportal",
                    ),
                ),
            ],
            options={"abstract": False},
        ),
    ]
