import json

from django.db import migrations, models

from invoices.codes import ADDRESS_CODE_KEYS, ADDRESS_SNAPSHOT_PATH


def seed_address_codes(apps, schema_editor):
    """The FIRS country and state lists, from the bundled snapshot (as the other code lists)."""
    entry = apps.get_model("invoices", "FirsCodeListEntry")
    snapshot = json.loads(ADDRESS_SNAPSHOT_PATH.read_text(encoding="utf-8"))
    entry.objects.bulk_create(
        [
            entry(resource=name, code=str(row[key]), data=row)
            for name, key in ADDRESS_CODE_KEYS.items()
            for row in snapshot[name]["data"]
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0005_invoice_pipeline_queue"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="invoice",
            name="uniq_invoice_irn",
        ),
        migrations.AlterField(
            model_name="invoice",
            name="status",
            field=models.CharField(
                choices=[
                    ("built", "Built"),
                    ("validated", "Validated"),
                    ("signed", "Signed"),
                    ("transmitted", "Transmitted"),
                    ("confirmed", "Confirmed"),
                    ("retrying", "Retrying"),
                    ("needs_attention", "Needs attention"),
                    ("waiting_setup", "Waiting for FIRS set-up"),
                ],
                default="built",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("irn", ""), _negated=True),
                fields=("organization", "irn"),
                name="uniq_invoice_irn",
            ),
        ),
        migrations.RunPython(seed_address_codes, migrations.RunPython.noop),
    ]
