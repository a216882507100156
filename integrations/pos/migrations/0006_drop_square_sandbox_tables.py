from django.db import migrations


class Migration(migrations.Migration):
    """The sandbox's tables, made here by earlier versions of this app, leave databases migrated
    before: they now belong to an app in sandboxes/, installed only when SANDBOX_ENABLED."""

    dependencies = [
        ("pos", "0005_alter_posconnection_health"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS pos_squaresandboxaccesstoken, pos_squaresandboxauthorizationcode, pos_squaresandboxrefund, pos_squaresandboxpayment, pos_squaresandboxorder, pos_squaresandboxlocation, pos_squaresandboxmerchant CASCADE",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
