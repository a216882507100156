from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sandbox_square", "0001_initial")]

    operations = [
        migrations.RenameField(
            model_name="squaresandboxauthorizationcode", old_name="merchant", new_name="account"
        ),
        migrations.RenameField(
            model_name="squaresandboxaccesstoken", old_name="merchant", new_name="account"
        ),
        migrations.AlterField(
            model_name="squaresandboxaccesstoken",
            name="access_token",
            field=models.CharField(max_length=255, unique=True),
        ),
        migrations.AlterField(
            model_name="squaresandboxaccesstoken",
            name="client_id",
            field=models.CharField(max_length=191),
        ),
        migrations.AlterField(
            model_name="squaresandboxaccesstoken",
            name="refresh_token",
            field=models.CharField(blank=True, db_index=True, max_length=255),
        ),
        migrations.AlterField(
            model_name="squaresandboxaccesstoken",
            name="scopes",
            field=models.JSONField(default=list),
        ),
        migrations.AlterField(
            model_name="squaresandboxauthorizationcode",
            name="client_id",
            field=models.CharField(max_length=191),
        ),
        migrations.AlterField(
            model_name="squaresandboxauthorizationcode",
            name="code",
            field=models.CharField(max_length=255, unique=True),
        ),
        migrations.AlterField(
            model_name="squaresandboxauthorizationcode",
            name="scopes",
            field=models.JSONField(default=list),
        ),
    ]
