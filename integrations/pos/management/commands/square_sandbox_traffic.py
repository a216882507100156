import json
import math
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations.pos.models import SquareSandboxMerchant
from integrations.pos.square.traffic import Receiver, orders_backfill, traffic_run


class Command(BaseCommand):
    help = (
        "Make completed sales for a Square sandbox seller and send the signed webhooks Square "
        "would send to a receiver; or, with --backfill, write historical completed orders "
        "without webhooks. Prints a JSON summary."
    )

    def add_arguments(self, parser):
        seller = parser.add_mutually_exclusive_group(required=True)
        seller.add_argument("--merchant-id", help="the sandbox seller's merchant_id")
        seller.add_argument("--access-token", help="a token of the seller (its own or OAuth)")
        parser.add_argument("--location-id", default="", help="default: the first location")
        parser.add_argument("--webhook-url", help="where deliveries are POSTed")
        parser.add_argument(
            "--notification-url", help="the URL the signature covers (default: --webhook-url)"
        )
        parser.add_argument("--signature-key", default="", help="the subscription's key")
        parser.add_argument(
            "--wrong-signature-key",
            default="",
            help="sign with this key instead: deliveries the receiver must refuse",
        )
        parser.add_argument("--count", type=int, default=10, help="sales to make")
        parser.add_argument("--rate", type=float, default=0.0, help="deliveries per second")
        parser.add_argument("--duplicates", type=int, default=1, help="send each event 1..N times")
        parser.add_argument(
            "--shuffle-window", type=int, default=1, help="random order within N deliveries"
        )
        parser.add_argument("--refund-share", type=float, default=0.0)
        parser.add_argument(
            "--api-order-share",
            type=float,
            default=0.5,
            help="share of orders made through the Orders API (these get order.created)",
        )
        parser.add_argument("--concurrency", type=int, default=1, help="sending threads")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds per delivery")
        parser.add_argument("--seed", type=int, help="repeat a run exactly")
        parser.add_argument(
            "--backfill",
            type=int,
            metavar="N",
            help="write N historical completed orders instead: no webhooks, no HTTP",
        )
        parser.add_argument(
            "--backfill-days", type=int, default=90, help="spread them over this many past days"
        )

    def handle(self, *args, **options):
        merchant = self._seller(options)
        started = time.monotonic()
        try:
            if options["backfill"] is not None:
                end = timezone.now()
                made = orders_backfill(
                    merchant=merchant,
                    location_id=options["location_id"],
                    count=options["backfill"],
                    start=end - timedelta(days=options["backfill_days"]),
                    end=end,
                    seed=options["seed"],
                )
                summary = {"orders_created": made}
            else:
                summary = self._traffic(merchant, options)
        except ValueError as error:
            raise CommandError(str(error)) from None
        summary["seconds"] = round(time.monotonic() - started, 3)
        self.stdout.write(json.dumps(summary))

    def _seller(self, options):
        if options["access_token"]:
            return options["access_token"]
        merchant = SquareSandboxMerchant.objects.filter(merchant_id=options["merchant_id"]).first()
        if merchant is None:
            raise CommandError(f"No sandbox seller {options['merchant_id']!r}")
        return merchant

    def _traffic(self, merchant, options) -> dict:
        if not options["webhook_url"] or not options["signature_key"]:
            raise CommandError("Sending webhooks needs --webhook-url and --signature-key")
        summary = traffic_run(
            merchant=merchant,
            receiver=Receiver(
                webhook_url=options["webhook_url"],
                notification_url=options["notification_url"] or options["webhook_url"],
                signature_key=options["signature_key"],
            ),
            location_id=options["location_id"],
            count=options["count"],
            rate_per_second=options["rate"],
            duplicates=options["duplicates"],
            shuffle_window=options["shuffle_window"],
            refund_share=options["refund_share"],
            api_order_share=options["api_order_share"],
            concurrency=options["concurrency"],
            signature_key=options["wrong_signature_key"],
            timeout=options["timeout"],
            seed=options["seed"],
        )
        latencies = sorted(summary.ack_latencies)
        return {
            "orders_created": summary.orders_created,
            "refunds_created": summary.refunds_created,
            "events": summary.events,
            "deliveries_sent": summary.deliveries_sent,
            "non_2xx": summary.non_2xx,
            "transport_errors": summary.transport_errors,
            **{
                f"ack_p{percent}_ms": _percentile_ms(latencies, percent) for percent in (50, 95, 99)
            },
            "ack_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        }


def _percentile_ms(ordered: list[float], percent: int) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not ordered:
        return None
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return round(ordered[rank - 1] * 1000, 1)
