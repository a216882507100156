from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("pos", "0003_square_sandbox_payments"),
    ]

    # Created the Square sandbox's tables, which the pos app no longer has: they belong to
    # sandboxes/square (installed only when SANDBOX_ENABLED), so production databases never get
    # them. Databases migrated before lose them in 0006_drop_square_sandbox_tables.
    operations = []
