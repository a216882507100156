"""Sources are keyed by UUID (pos_transactions and crm_deals have UUID ids, as in the seed).

Existing integer ids map to the UUID whose hex digits are the zero-padded hex of the integer, so
the change keeps every invoice tied to a distinct source.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0003_seed_code_lists"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="source_platform",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="invoice",
            name="source_received_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="invoice",
                    name="source_id",
                    field=models.UUIDField(),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE "invoices_invoice" ALTER COLUMN "source_id" TYPE uuid '
                    "USING lpad(to_hex(\"source_id\"), 32, '0')::uuid;",
                    'ALTER TABLE "invoices_invoice" ALTER COLUMN "source_id" TYPE bigint '
                    "USING ('x' || right(replace(\"source_id\"::text, '-', ''), 16))::bit(64)::bigint;",
                ),
            ],
        ),
    ]
