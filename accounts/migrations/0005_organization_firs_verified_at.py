from django.db import migrations, models
from django.db.models.functions import Now


def mark_working_set_ups(apps, schema_editor):
    """Organizations already signing (every FIRS setting filled in) count as verified: their
    keys were in use before verification existed."""
    organization = apps.get_model("accounts", "Organization")
    organization.objects.exclude(firs_service_id="").exclude(firs_base_url="").exclude(
        firs_business_id=None
    ).exclude(firs_api_key="").exclude(firs_api_secret="").update(firs_verified_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_invitation_membership_last_used_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="firs_verified_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="FIRS verified at"),
        ),
        migrations.RunPython(mark_working_set_ups, migrations.RunPython.noop),
    ]
