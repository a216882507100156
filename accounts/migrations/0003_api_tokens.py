"""API tokens stored as their SHA-256 digest; DRF's clear-text tokens copied in, then dropped.

A database made before this migration has DRF's ``authtoken_token`` table, keys in clear: each
key becomes an ApiToken with that key's digest and prefix (the same key keeps working for its
user), then the table goes and so do the records of its migrations, as the app is no longer
installed. A fresh database has no such table. Unapplying this migration drops the tokens;
the clear keys are not restored.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

LEGACY_TABLE = "authtoken_token"


def tokens_copy_from_legacy_table(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if LEGACY_TABLE not in connection.introspection.table_names(cursor):
            return
        # In SQL, so that the clear keys never pass through this process.
        cursor.execute(
            "INSERT INTO accounts_apitoken (user_id, name, prefix, digest, created_at) "
            "SELECT user_id, 'Migrated token', left(key, 8), "
            "encode(sha256(convert_to(key, 'UTF8')), 'hex'), created "
            "FROM authtoken_token"
        )
        cursor.execute("DROP TABLE authtoken_token")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_organization_firs_crypto_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("prefix", models.CharField(max_length=8)),
                (
                    "digest",
                    models.CharField(max_length=64, unique=True, verbose_name="SHA-256 digest"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["user", "-created_at"], name="api_token_user_created")
                ],
            },
        ),
        migrations.RunPython(tokens_copy_from_legacy_table, migrations.RunPython.noop),
    ]
