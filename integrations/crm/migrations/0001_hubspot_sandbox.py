from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    # Created the HubSpot sandbox's tables, which the crm app no longer has: they belong to
    # sandboxes/hubspot (installed only when SANDBOX_ENABLED), so production databases never get
    # them. Databases migrated before lose them in 0004_drop_hubspot_sandbox_tables.
    operations = []
