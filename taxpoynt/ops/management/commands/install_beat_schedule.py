from django.core.management.base import BaseCommand

from taxpoynt.ops.services import beat_schedule_install


class Command(BaseCommand):
    help = "Install the periodic tasks declared in taxpoynt/ops/schedules.py (idempotent)."

    def handle(self, *args, **options):
        result = beat_schedule_install()
        self.stdout.write(
            f"beat schedule: {result['created']} created, {result['updated']} updated, "
            f"{result['removed']} removed"
        )
