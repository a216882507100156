import json
import math
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sandboxes.kit.measure import (
    measure_connection_ensure,
    measure_event_ids,
    measure_report,
    measure_settle,
)
from sandboxes.kit.registry import traffic_platforms
from sandboxes.kit.traffic import Receiver, traffic_run

# Where the signing key comes from when no file names it: never the command line, which every
# local user can read in ``ps``.
SIGNING_KEY_ENV = "SANDBOX_TRAFFIC_SIGNING_KEY"


class Command(BaseCommand):
    help = (
        "Make changes in a sandbox account (sales, deals) and send the signed webhooks the "
        "platform would send to a receiver; or, with --backfill, write past changes without "
        "webhooks. Prints a JSON summary. The signing key is read from --signing-key-file, from "
        f"the demo file's connection (--connection) or from ${SIGNING_KEY_ENV}. With --measure, "
        "the traffic goes to a measurement connection beside --connection and the run's "
        "received -> signed figures are read from the database once it has settled."
    )

    def add_arguments(self, parser):
        platforms = traffic_platforms()
        parser.add_argument("--platform", required=True, choices=sorted(platforms))
        account = parser.add_argument_group("the account and the receiver")
        account.add_argument(
            "--connection",
            help="a connection of the demo file: its account, URLs and signing secret",
        )
        account.add_argument("--demo-file", default=str(settings.VAR_DIR / "demo.json"))
        account.add_argument("--account-id", help="the sandbox account (merchant id, hub id)")
        account.add_argument("--webhook-url", help="where deliveries are POSTed")
        account.add_argument(
            "--notification-url", help="the URL the signature covers (default: --webhook-url)"
        )
        account.add_argument("--signing-key-file", help="a file holding the signing key")
        traffic = parser.add_argument_group("traffic (the same for every platform)")
        traffic.add_argument(
            "--count", type=int, help="changes to make at most (default: 10 without --duration)"
        )
        traffic.add_argument("--duration", type=float, help="seconds to make changes at most")
        traffic.add_argument("--rate", type=float, default=0.0, help="deliveries per second")
        traffic.add_argument(
            "--change-rate",
            type=float,
            default=0.0,
            help="changes (sales, deals) per second, whatever the deliveries per change",
        )
        traffic.add_argument("--duplicates", type=int, default=1, help="send each event 1..N times")
        traffic.add_argument(
            "--shuffle-window", type=int, default=1, help="random order within N deliveries"
        )
        traffic.add_argument("--concurrency", type=int, default=1, help="sending threads")
        traffic.add_argument("--timeout", type=float, help="seconds per delivery")
        traffic.add_argument("--seed", type=int, help="repeat a run exactly")
        traffic.add_argument(
            "--backfill",
            type=int,
            metavar="N",
            help="write N past changes instead: no webhooks, no HTTP",
        )
        traffic.add_argument(
            "--backfill-days", type=int, default=90, help="spread them over this many past days"
        )
        measure = parser.add_argument_group("measuring a running site")
        measure.add_argument(
            "--measure",
            action="store_true",
            help="send to a measurement connection beside --connection, then report received "
            "-> signed and the counts from the database",
        )
        measure.add_argument(
            "--settle-timeout",
            type=float,
            default=120.0,
            help="seconds to wait for the run's sales to be signed",
        )
        for key, platform in platforms.items():
            platform.add_arguments(parser.add_argument_group(f"{key} only"))

    def handle(self, *args, **options):
        platform = traffic_platforms()[options["platform"]]
        if options["count"] is None and options["duration"] is None:
            options["count"] = 10
        if options["measure"]:
            self._measure(platform, options)
            return
        target = self._target(options)
        started = time.monotonic()
        try:
            if options["backfill"] is not None:
                made = platform.history_write(
                    account_id=target["account_id"],
                    count=options["backfill"],
                    days=options["backfill_days"],
                    seed=options["seed"],
                    options=options,
                )
                summary = {"changes": made}
            else:
                summary = self._traffic(platform, target, options)
        except ValueError as error:
            raise CommandError(str(error)) from None
        summary["seconds"] = round(time.monotonic() - started, 3)
        self.stdout.write(json.dumps(summary))

    def _measure(self, platform, options) -> None:
        if not options["connection"] or options["backfill"] is not None:
            raise CommandError("--measure needs --connection (a demo connection) and no --backfill")
        demo_file = Path(options["demo_file"])
        entry = _demo_connection(demo_file, options["connection"])
        try:
            connection = measure_connection_ensure(
                family=entry["family"],
                connection_id=entry["id"],
                site_url=json.loads(_read(demo_file))["url"],
            )
        except (ValueError, KeyError) as error:
            raise CommandError(f"No measurement connection: {error}") from None
        target = {
            "account_id": connection.account_id,
            "webhook_url": connection.webhook_url,
            "notification_url": connection.notification_url,
            "signing_key": connection.webhook_secret,
        }
        bodies = []
        since = timezone.now()
        started = time.monotonic()
        try:
            summary = self._traffic(
                platform, target, options, on_delivery=lambda delivery: bodies.append(delivery.body)
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        sending = time.monotonic() - started
        summary["seconds"] = round(sending, 3)
        summary["changes_per_second"] = round(summary["changes"] / sending, 2) if sending else None
        event_ids = measure_event_ids(platform=options["platform"], bodies=bodies)
        summary["settle_seconds"] = measure_settle(
            family=entry["family"],
            connection=connection,
            since=since,
            event_ids=event_ids,
            timeout=options["settle_timeout"],
        )
        figures = measure_report(
            family=entry["family"], connection=connection, since=since, event_ids=event_ids
        )
        summary["measure"] = figures
        self.stdout.write(
            f"{options['platform']}: {summary['changes']} changes at "
            f"{summary['changes_per_second']}/s, {figures['rows_invoiceable']} invoiceable, "
            f"{figures['invoiced']} invoiced, {figures['signed']} signed, "
            f"{figures['duplicate_rows'] + figures['duplicate_invoices']} duplicates, "
            f"{figures['lost_events']} lost events, {figures['not_signed']} not signed; "
            f"received -> signed p50 {figures['received_to_signed_p50_s']} s, "
            f"p99 {figures['received_to_signed_p99_s']} s, "
            f"max {figures['received_to_signed_max_s']} s"
        )
        self.stdout.write(json.dumps(summary))

    def _target(self, options) -> dict:
        """The account, URLs and signing key, from the demo file or the options."""
        target = {
            "account_id": options["account_id"],
            "webhook_url": options["webhook_url"],
            "notification_url": options["notification_url"],
            "signing_key": "",
        }
        if options["connection"]:
            entry = _demo_connection(Path(options["demo_file"]), options["connection"])
            target.update(
                account_id=target["account_id"] or entry.get("account_id", ""),
                webhook_url=target["webhook_url"] or entry.get("webhook_url", ""),
                notification_url=target["notification_url"] or entry.get("notification_url", ""),
                signing_key=entry.get("signing_secret", ""),
            )
        if options["signing_key_file"]:
            target["signing_key"] = _read(Path(options["signing_key_file"])).strip()
        target["signing_key"] = target["signing_key"] or os.environ.get(SIGNING_KEY_ENV, "")
        if not target["account_id"]:
            raise CommandError("Name the account: --account-id or --connection")
        return target

    def _traffic(self, platform, target: dict, options, on_delivery=None) -> dict:
        if not target["webhook_url"]:
            raise CommandError("Sending webhooks needs --webhook-url (or --connection)")
        traffic = platform.from_options(
            account_id=target["account_id"], signing_key=target["signing_key"], options=options
        )
        summary = traffic_run(
            traffic,
            receiver=Receiver(
                webhook_url=target["webhook_url"], notification_url=target["notification_url"]
            ),
            count=options["count"],
            duration=options["duration"],
            rate=options["rate"],
            change_rate=options["change_rate"],
            duplicates=options["duplicates"],
            shuffle_window=options["shuffle_window"],
            concurrency=options["concurrency"],
            timeout=options["timeout"],
            seed=options["seed"],
            on_delivery=on_delivery,
        )
        latencies = sorted(summary.ack_latencies)
        return {
            **summary.made,
            "changes": summary.changes,
            "change_errors": summary.change_errors,
            "events": summary.events,
            "deliveries_sent": summary.deliveries_sent,
            "non_2xx": summary.non_2xx,
            "transport_errors": summary.transport_errors,
            **{
                f"ack_p{percent}_ms": _percentile_ms(latencies, percent) for percent in (50, 95, 99)
            },
            "ack_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        }


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}") from None


def _demo_connection(path: Path, connection_id: str) -> dict:
    try:
        connections = json.loads(_read(path))["connections"]
    except (ValueError, KeyError, TypeError):
        raise CommandError(f"{path} is not a demo file (no connections list)") from None
    for entry in connections:
        if isinstance(entry, dict) and entry.get("id") == connection_id:
            return entry
    raise CommandError(f"{path} lists no connection {connection_id!r}")


def _percentile_ms(ordered: list[float], percent: int) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not ordered:
        return None
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return round(ordered[rank - 1] * 1000, 1)
