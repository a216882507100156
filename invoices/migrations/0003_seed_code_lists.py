import json

from django.db import migrations

from invoices.codes import SNAPSHOT_PATH

RESOURCES = ("invoice-types", "tax-categories", "payment-means", "currencies", "vat-exemptions")
KEYS = {"vat-exemptions": "harmonized_system_code"}


def seed(apps, schema_editor):
    """A fresh install works offline: the bundled snapshot until beat refreshes from FIRS."""
    entry = apps.get_model("invoices", "FirsCodeListEntry")
    snapshot = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
    rows = []
    for name in RESOURCES:
        resource = snapshot[name]
        for row in resource["data"] if isinstance(resource, dict) else resource:
            rows.append(entry(resource=name, code=str(row[KEYS.get(name, "code")]), data=row))
    entry.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_invoices")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
