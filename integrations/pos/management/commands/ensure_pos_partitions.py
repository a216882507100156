from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.pos.models import TRANSACTIONS_PARTITION_COLUMN, TRANSACTIONS_TABLE
from taxpoynt.lib.partitions import monthly_partitions_ensure


class Command(BaseCommand):
    help = (
        "Create pos_transactions' monthly partitions for this month and the next ones, and for "
        "any month whose rows sit in the DEFAULT partition (they move into it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=settings.PARTITION_MONTHS_AHEAD)

    def handle(self, *args, months_ahead, **options):
        created = monthly_partitions_ensure(
            table=TRANSACTIONS_TABLE,
            column=TRANSACTIONS_PARTITION_COLUMN,
            months_ahead=months_ahead,
        )
        self.stdout.write(
            f"Created {', '.join(created)}." if created else "Every partition was already there."
        )
