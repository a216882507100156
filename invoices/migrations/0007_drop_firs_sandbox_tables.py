from django.db import migrations


class Migration(migrations.Migration):
    """The sandbox's tables, made here by earlier versions of this app, leave databases migrated
    before: they now belong to an app in sandboxes/, installed only when SANDBOX_ENABLED."""

    dependencies = [
        ("invoices", "0006_invoice_numbers_and_emails"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS invoices_firssandboxinvoice, invoices_firssandboxfaults, invoices_firssandboxcredential CASCADE",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
