from django.core.management.base import BaseCommand

from taxpoynt.ops.services import encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the newest FIELD_ENCRYPTION_KEYS entry. "
        "Batched and resumable: re-run it after a crash."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        def progress(table, column, last_pk, totals):
            self.stdout.write(f"{table}.{column} up to id {last_pk}: {totals}")

        totals = encryption_keys_rotate(batch_size=batch_size, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"done: {totals}"))
        if totals["unreadable"]:
            self.stderr.write(
                f"{totals['unreadable']} secrets are unreadable with the configured keys; "
                "their records must be re-authorised."
            )
