from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    # Created the FIRS sandbox's tables, which the invoices app no longer has: they belong to
    # sandboxes/firs (installed only when SANDBOX_ENABLED), so production databases never get
    # them. Databases migrated before lose them in 0007_drop_firs_sandbox_tables.
    operations = []
