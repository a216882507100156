from django.db import migrations


class Migration(migrations.Migration):
    """The sandbox's tables, made here by earlier versions of this app, leave databases migrated
    before: they now belong to an app in sandboxes/, installed only when SANDBOX_ENABLED."""

    dependencies = [
        ("crm", "0003_alter_crmconnection_health"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS crm_hubspotsandboxassociation, crm_hubspotsandboxobject, crm_hubspotsandboxtoken, crm_hubspotsandboxauthorizationcode, crm_hubspotsandboxpipelinestage, crm_hubspotsandboxpipeline, crm_hubspotsandboxportal CASCADE",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
