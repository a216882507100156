"""`make bench`: the POS and CRM paths measured end to end on this machine.

Real gunicorn, real Celery workers (realtime, standard, batch), the Square, HubSpot and FIRS
sandboxes over HTTP (FIRS answers after a realistic latency that costs no CPU: a sleep). Signed
sales are sent at a fixed rate while a back-fill of historical orders runs on the batch queue and,
beside them, HubSpot deal changes at their own rate (the CRM target: a won deal signed within
30 s p99).
In the same run, the yardstick: a bare Django endpoint doing one INSERT, driven by the same client.

Writes bench/results.json and bench/results.md. Figures are medians and percentiles of one run
on a shared machine: compare ratios, not absolute numbers.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("DATABASE_NAME", "taxpoynt_bench")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="sales per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sales")
    parser.add_argument("--backfill", type=int, default=100_000, help="historical orders")
    parser.add_argument("--firs-latency-ms", type=int, default=50)
    parser.add_argument("--port", type=int, default=8091, help="our web (webhooks)")
    parser.add_argument(
        "--sandbox-port",
        type=int,
        default=8092,
        help="the platform and FIRS sandboxes: a server of their own, so that their CPU is "
        "counted apart from ours",
    )
    parser.add_argument("--web-workers", type=int, default=2)
    # Every thread that touches the database keeps its own connection (CONN_MAX_AGE): the
    # defaults keep all processes together under PostgreSQL's 100 connections.
    parser.add_argument("--web-threads", type=int, default=12, help="per web and sandbox worker")
    parser.add_argument("--realtime-workers", type=int, default=2, help="worker processes")
    parser.add_argument("--realtime-threads", type=int, default=12, help="threads per worker")
    parser.add_argument(
        "--duplicates", type=int, default=1, help="send each event 1 to N times (B3: 5)"
    )
    parser.add_argument(
        "--shuffle-window", type=int, default=1, help="shuffle deliveries within N (B3: 200)"
    )
    parser.add_argument(
        "--crm-rate", type=float, default=20.0, help="deal changes per second; 0: no CRM phase"
    )
    parser.add_argument("--standard-threads", type=int, default=16, help="standard worker threads")
    parser.add_argument("--yardstick-seconds", type=float, default=10.0)
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    return parser.parse_args()


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def summary_of(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else None,
    }


# --- set-up --------------------------------------------------------------------------------------


def database_recreate() -> None:
    """A fresh database for every run (on the configured server: embedded or DATABASE_URL)."""
    import psycopg
    from django.conf import settings

    params = settings.DATABASES["default"]
    name = params["NAME"]
    with psycopg.connect(
        dbname="postgres",
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def scenario_prepare(*, site_url: str, sandbox_url: str, args) -> dict:
    """Webhooks come to ``site_url`` (our web); the platforms' APIs and FIRS answer from
    ``sandbox_url``, another server of the same code standing in for the outside world."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import organization_create
    from bench.urls import YARDSTICK_TABLE
    from integrations.base.sandbox_accounts import connection_sandbox_create, sandbox_base_url
    from invoices.firs.client import SharedCircuitBreaker
    from sandboxes.firs.server import sandbox_faults_set, sandbox_organization_connect
    from sandboxes.square.traffic import orders_backfill
    from taxpoynt.celery import app as celery_app

    call_command("migrate", verbosity=0)
    celery_app.control.purge()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {YARDSTICK_TABLE} (id bigserial PRIMARY KEY, "
            "received_at timestamptz NOT NULL, body text NOT NULL)"
        )
    owner = User.objects.create_user(username="bench-owner", password=None)
    organization = organization_create(
        owner=owner,
        legal_name="Bench Supermarket Ltd",
        tin="31415926-0001",
        firs_service_id="BENCH001",
        contact_email="bench@example.ng",
        street_name="1 Marina",
        city_name="Lagos",
        state="NG-LA",
        postal_zone="101001",
    )
    sandbox_organization_connect(organization=organization, base_url=f"{sandbox_url}/sandbox/firs")
    # The breaker's state lives in the cache, not the database: an earlier run's stop (its
    # broken connections) must not hold this run's FIRS calls back.
    SharedCircuitBreaker(name=urlsplit(sandbox_url).netloc).reset()
    sandbox_faults_set(latency_ms=args.firs_latency_ms, latency_jitter_ms=args.firs_latency_ms // 2)
    pos = connection_sandbox_create(
        family="pos", platform="square", organization=organization, user=owner, site_url=site_url
    )
    crm = (
        connection_sandbox_create(
            family="crm",
            platform="hubspot",
            organization=organization,
            user=owner,
            site_url=site_url,
        )
        if args.crm_rate > 0
        else None
    )
    for made_connection in filter(None, (pos, crm)):
        made_connection.base_url = sandbox_base_url(
            site_url=sandbox_url, platform=made_connection.platform
        )
        made_connection.save(update_fields=["base_url"])
    now = timezone.now()
    started = time.monotonic()
    made = orders_backfill(
        merchant=_merchant(pos),
        count=args.backfill,
        start=now - timedelta(days=365),
        end=now - timedelta(days=1),
        seed=7,
    )
    return {
        "connection": pos,
        "crm_connection": crm,
        "backfill_orders": made,
        "backfill_seed_seconds": round(time.monotonic() - started, 1),
    }


def _merchant(connection):
    from sandboxes.square.models import SquareSandboxMerchant

    return SquareSandboxMerchant.objects.get(merchant_id=connection.account_id)


def _portal(connection):
    from sandboxes.hubspot.models import HubSpotSandboxPortal

    # A HubSpot connection's account id is its portal's hub id.
    return HubSpotSandboxPortal.objects.get(hub_id=int(connection.account_id))


# --- processes ---------------------------------------------------------------------------------


def processes_start(args) -> dict[str, subprocess.Popen]:
    (ROOT / "var").mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONN_MAX_AGE": "600"}
    celery = [str(BIN / "celery"), "-A", "taxpoynt", "worker", "--loglevel", "WARNING"]
    common = ["--without-gossip", "--without-mingle", "--pool", "threads"]
    realtime = {
        f"realtime-{number}": subprocess.Popen(
            [
                *celery,
                "--queues",
                "realtime",
                "--hostname",
                f"bench-realtime-{number}@%h",
                *common,
                "--concurrency",
                str(args.realtime_threads),
            ],
            env=env,
            cwd=ROOT,
        )
        for number in range(args.realtime_workers)
    }
    return {
        **realtime,
        "web": _gunicorn(args, port=args.port, env=env),
        "sandboxes": _gunicorn(args, port=args.sandbox_port, env=env),
        "standard": subprocess.Popen(
            [
                *celery,
                "--queues",
                "standard",
                "--hostname",
                "bench-standard@%h",
                *common,
                "-c",
                str(args.standard_threads),
            ],
            env=env,
            cwd=ROOT,
        ),
        # The back-fill yields the CPU to live sales: its worker runs at the lowest priority.
        "batch": subprocess.Popen(
            [
                *celery,
                "--queues",
                "batch",
                "--hostname",
                "bench-batch@%h",
                *common,
                "-c",
                "2",
            ],
            env=env,
            cwd=ROOT,
            preexec_fn=lambda: os.nice(19),
        ),
    }


def _gunicorn(args, *, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "taxpoynt.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(args.web_workers),
            "--threads",
            str(args.web_threads),
            "--backlog",
            "2048",
            # Clients keep connections alive; gunicorn's 2 s default races their reuse.
            "--keep-alive",
            "75",
            "--log-level",
            "warning",
            # Two servers run side by side: each its own control socket.
            "--control-socket",
            str(ROOT / "var" / f"gunicorn-{port}.ctl"),
        ],
        env=env,
        cwd=ROOT,
    )


def processes_stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(site_url: str, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{site_url}/health/", timeout=2).status_code in (200, 503):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer at {site_url} within {timeout} s")


# --- measurements ------------------------------------------------------------------------------


def yardstick_measure(site_url: str, *, seconds: float, threads: int = 16) -> dict:
    """Closed loop: ``threads`` clients POST as fast as the endpoint answers."""
    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        session = requests.Session()
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = session.post(f"{site_url}/_bench/yardstick", data=b'{"sale": 1}')
            if response.status_code == 200:
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return {"requests_per_second": round(len(latencies) / elapsed, 1), **summary_of(latencies)}


def cpu_seconds(processes: dict[str, subprocess.Popen]) -> dict[str, float]:
    """CPU seconds used so far by each started process with its children, and by the database
    and broker servers (every process of those names on the machine)."""
    import psutil

    def tree(pid: int) -> float:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for member in members:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    used = {name: tree(process.pid) for name, process in processes.items()}
    # This process sends the signed webhooks (and the CRM traffic): the platforms' side.
    own = psutil.Process().cpu_times()
    used["traffic"] = own.user + own.system
    for label, names in (("postgres", ("postgres", "postmaster")), ("redis", ("redis-server",))):
        total = 0.0
        for process in psutil.process_iter(["name", "cpu_times"]):
            if process.info["name"] in names and process.info["cpu_times"]:
                total += process.info["cpu_times"].user + process.info["cpu_times"].system
        used[label] = total
    return used


# Who pays for what: our service, and the outside world that this box also plays.
OURS = ("web", "realtime", "standard", "batch", "postgres", "redis")
OUTSIDE = ("sandboxes", "traffic")


def cpu_per_sale(used: dict[str, float], *, sales: int) -> dict:
    """CPU milliseconds per live sale, ours apart from the sandboxes' and the traffic's. The
    database and broker serve both sides; they are counted as ours."""

    def side(prefixes):
        return sum(value for name, value in used.items() if name.startswith(prefixes))

    ours, outside = side(OURS), side(OUTSIDE)
    per_sale = {
        name: round(value * 1000 / max(1, sales), 1) for name, value in sorted(used.items())
    }
    cores = os.cpu_count() or 1
    return {
        "by_process": per_sale,
        "ours": round(ours * 1000 / max(1, sales), 1),
        "outside_world": round(outside * 1000 / max(1, sales), 1),
        # What this box could sustain if the sandboxes and the traffic ran elsewhere: a
        # projection from the measured CPU cost, not a measurement.
        "projected_sales_per_second_ours_alone": round(cores * sales / ours, 1) if ours else None,
    }


def sales_send(
    connection,
    *,
    rate: float,
    duration: float,
    duplicates: int = 1,
    shuffle_window: int = 1,
    before_sending=None,
):
    """``before_sending`` runs once the sales are made, just before the first is sent. With
    ``duplicates`` each event goes out 1 to that many times, shuffled within ``shuffle_window``
    deliveries, as platforms redeliver and reorder; the pace stays ``rate`` sales per second."""
    from sandboxes.kit.traffic import Receiver, deliveries_prepare, deliveries_send
    from sandboxes.square.traffic import SquareTraffic

    # Live sales are told apart from back-filled ones by their time of sale: from here on.
    made_from = time.time()
    receiver = Receiver(
        webhook_url=connection.webhook_url, notification_url=connection.notification_url
    )
    deliveries, made = deliveries_prepare(
        SquareTraffic(
            merchant=_merchant(connection),
            signing_key=connection.webhook_secret,
            api_order_share=0.0,
        ),
        receiver=receiver,
        count=int(rate * duration),
        duplicates=duplicates,
        shuffle_window=shuffle_window,
        seed=11,
    )
    if before_sending:
        before_sending()
    sales = made.made["orders_created"]
    per_sale = len(deliveries) / max(1, sales)
    summary = deliveries_send(deliveries, receiver=receiver, rate=rate * per_sale, concurrency=24)
    # The unique events made (copies excluded), for the loss check.
    summary.events = made.events
    return summary, sales, made_from, time.time()


# HubSpot sends a few events per POST: deliveries per second are the deal changes over this.
CRM_EVENTS_PER_DELIVERY = 5


def crm_traffic_prepare(connection, *, rate: float, duration: float) -> dict:
    """About ``rate`` x ``duration`` HubSpot deal changes, made in the sandbox now; their
    deliveries are sent by ``crm_traffic_start``, beside the POS sales."""
    from sandboxes.hubspot.traffic import HubSpotTraffic
    from sandboxes.kit.traffic import Receiver, deliveries_prepare

    started = time.monotonic()
    platform = HubSpotTraffic(
        portal=_portal(connection), events_per_delivery=CRM_EVENTS_PER_DELIVERY
    )
    receiver = Receiver(webhook_url=connection.webhook_url)
    deliveries, made = deliveries_prepare(
        platform, receiver=receiver, count=max(1, round(rate * duration)), seed=13
    )
    return {
        "platform": platform,
        "receiver": receiver,
        "deliveries": deliveries,
        "made": made,
        "rate": rate,
        "deals_made_seconds": time.monotonic() - started,
    }


def crm_traffic_start(prepared: dict) -> dict:
    """Send the prepared HubSpot deliveries at their rate, in a thread."""
    from django.db import connection as database

    from sandboxes.kit.traffic import deliveries_send

    run = {
        **prepared,
        "ack_latencies": [],
        "first_sent_at": None,
        "last_answered_at": None,
        "summary": None,
        "error": None,
    }

    def answered(status: int, seconds: float) -> None:
        now = time.time()
        run["ack_latencies"].append(seconds)
        run["first_sent_at"] = run["first_sent_at"] or now - seconds
        run["last_answered_at"] = now

    def send():
        try:
            run["summary"] = deliveries_send(
                prepared["deliveries"],
                receiver=prepared["receiver"],
                rate=prepared["rate"] / CRM_EVENTS_PER_DELIVERY,
                summary=prepared["made"],
                on_answer=answered,
            )
        except Exception as error:  # raised again in the main thread
            run["error"] = error
        finally:
            database.close()

    # A daemon: a failed POS phase must not leave the run waiting for the CRM traffic.
    run["thread"] = threading.Thread(target=send, name="crm-traffic", daemon=True)
    run["thread"].start()
    return run


def crm_traffic_finish(run: dict) -> dict:
    run["thread"].join()
    if run["error"]:
        raise run["error"]
    return run


def crm_rows(connection):
    from integrations.crm.models import CRMDeal

    return CRMDeal.objects.filter(connection=connection)


def crm_settled_count(connection) -> int:
    """Won deals signed, or whose invoice failed its checks (no retry changes those)."""
    from django.db.models import Q

    from integrations.crm.models import CRMDeal

    return (
        crm_rows(connection)
        .filter(Q(signed_at__isnull=False) | Q(status=CRMDeal.Status.FAILED), is_won=True)
        .count()
    )


def live_rows(*, since_epoch: float):
    from datetime import UTC, datetime

    from integrations.pos.models import POSTransaction

    return POSTransaction.objects.filter(
        transaction_timestamp__gte=datetime.fromtimestamp(since_epoch - 5, tz=UTC)
    )


def settle(
    *, sales: int, since_epoch: float, timeout: float, crm_connection=None, won_deals: int = 0
) -> float:
    """Until every live sale is signed and every won deal settled, or the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pos_done = (
            live_rows(since_epoch=since_epoch).filter(signed_at__isnull=False).count() >= sales
        )
        crm_done = crm_connection is None or crm_settled_count(crm_connection) >= won_deals
        if pos_done and crm_done:
            break
        time.sleep(1)
    return time.monotonic()


def crm_report(*, args, connection, traffic: dict) -> dict:
    from django.db.models import Count

    from integrations.base.models import InboundEvent
    from integrations.crm.models import CRMDeal
    from invoices.models import Invoice

    summary = traffic["summary"]
    won = set(traffic["platform"].won_deal_ids())
    invoiced = list(
        crm_rows(connection)
        .filter(invoice__isnull=False)
        .values("external_deal_id", "is_won", "received_at", "signed_at")
    )
    signed = [row for row in invoiced if row["signed_at"] and row["external_deal_id"] in won]
    latencies = [(row["signed_at"] - row["received_at"]).total_seconds() for row in signed]
    events = InboundEvent.objects.filter(family="crm")
    events_stored = events.count()
    more_than_one_invoice = (
        Invoice.objects.filter(source_type=Invoice.Source.CRM)
        .values("source_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    span = (traffic["last_answered_at"] or 0) - (traffic["first_sent_at"] or 0)
    transport_errors = summary.transport_errors
    non_2xx = summary.non_2xx
    return {
        "settings": {
            "rate_deal_changes_per_second": args.crm_rate,
            "events_per_delivery": CRM_EVENTS_PER_DELIVERY,
            "standard_worker_threads": args.standard_threads,
            "deals_made_seconds": round(traffic["deals_made_seconds"], 1),
        },
        "deals": {
            "made": len(traffic["platform"].deal_ids),
            # The traffic's own count of deals that end won: each must get one signed invoice.
            "won_expected": len(won),
            "won_signed_when_measured": len(signed),
            "won_invoice_failed_checks": crm_rows(connection)
            .filter(is_won=True, status=CRMDeal.Status.FAILED)
            .count(),
            "invoiced_not_won": sum(row["external_deal_id"] not in won for row in invoiced),
            "with_more_than_one_invoice": more_than_one_invoice,
            "events_sent": summary.events,
            "events_stored": events_stored,
            "lost_events": summary.events - events_stored,
            "events_failed": events.filter(status=InboundEvent.Status.FAILED).count(),
        },
        "received_to_signed_seconds": summary_of(latencies),
        "webhook_ack_seconds": summary_of(traffic["ack_latencies"]),
        "webhook_deliveries": {
            "sent": summary.deliveries_sent,
            "non_2xx": non_2xx,
            "transport_errors": transport_errors,
            "seconds": round(span, 1),
            "deal_changes_per_second": round(summary.events / span, 1) if span > 0 else None,
        },
        # A won deal left unsigned is later than any latency measured: it fails the SLA too.
        "p99_under_30s": bool(latencies)
        and len(signed) == len(won)
        and percentile(latencies, 0.99) < 30.0,
    }


def report(
    *, args, prepared, yardstick, summary, sales, started_at, ended_at, crm_traffic=None
) -> dict:
    from django.db.models import Count

    from integrations.base.models import InboundEvent, SyncRun
    from invoices.models import Invoice
    from sandboxes.firs.models import FirsSandboxCredential

    rows = list(live_rows(since_epoch=started_at).values("received_at", "signed_at", "invoice_id"))
    signed = [row for row in rows if row["signed_at"]]
    latencies = [(row["signed_at"] - row["received_at"]).total_seconds() for row in signed]
    first = min(row["received_at"] for row in rows) if rows else None
    last = max(row["signed_at"] for row in signed) if signed else None
    span = (last - first).total_seconds() if first and last else None
    events_stored = InboundEvent.objects.filter(family="pos").count()
    run = (
        SyncRun.objects.order_by("-created_at").values("rows", "pages", "errors", "status").first()
    )
    credential = FirsSandboxCredential.objects.get()
    duplicates = (
        Invoice.objects.values("organization", "irn")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    sustained = len(signed) / span if span else 0.0
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "rate_sales_per_second": args.rate,
            "duration_seconds": args.duration,
            "firs_latency_ms": args.firs_latency_ms,
            "web": f"gunicorn gthread {args.web_workers}x{args.web_threads}",
            "realtime_workers": f"{args.realtime_workers} x threads {args.realtime_threads}",
            "backfill_orders": prepared["backfill_orders"],
        },
        "sales": {
            "sent": sales,
            # Every acknowledged delivery's event must be stored: anything missing is lost.
            "events_sent": summary.events,
            "events_stored": events_stored,
            "lost_events": summary.events - events_stored,
            "transactions_when_measured": len(rows),
            "signed_when_measured": len(signed),
            "still_queued_when_measured": sales - len(signed),
            "duplicate_invoices": duplicates,
            "firs_duplicate_submissions": credential.duplicate_submissions,
        },
        "received_to_signed_seconds": summary_of(latencies),
        "webhook_ack_seconds": summary_of(summary.ack_latencies),
        "webhook_deliveries": {
            "sent": summary.deliveries_sent,
            "non_2xx": summary.non_2xx,
            "transport_errors": summary.transport_errors,
        },
        "sustained_sales_per_second": round(sustained, 1),
        "backfill_during_run": run,
        "yardstick_bare_insert": yardstick,
        "yardstick_ratio": round(sustained / yardstick["requests_per_second"], 3)
        if yardstick["requests_per_second"]
        else None,
        "sla": {
            "p99_under_2s": bool(latencies) and percentile(latencies, 0.99) < 2.0,
            "ack_p99_under_250ms": bool(summary.ack_latencies)
            and percentile(summary.ack_latencies, 0.99) < 0.25,
            "no_loss": summary.events == events_stored and summary.non_2xx == 0,
            "all_signed_in_the_run": sales == len(signed),
            "no_duplicate": duplicates == 0 and credential.duplicate_submissions == 0,
        },
    }
    result["http_floor"] = http_floor(
        yardstick_per_second=yardstick["requests_per_second"],
        deliveries=summary.deliveries_sent,
        sales=sales,
        invoice_ids=[row["invoice_id"] for row in rows if row["invoice_id"]],
    )
    if crm_traffic:
        result["crm"] = crm_report(
            args=args, connection=prepared["crm_connection"], traffic=crm_traffic
        )
        result["sla"]["crm_p99_under_30s"] = result["crm"].pop("p99_under_30s")
    return result


# Square's published answers carry no line items in an order or payment event: every sale is
# fetched once (RetrieveOrder) before it can be invoiced.
PLATFORM_FETCHES_PER_SALE = 1


def http_floor(*, yardstick_per_second: float, deliveries: int, sales: int, invoice_ids) -> dict:
    """The most sales per second this box could carry if a sale cost only its HTTP exchanges,
    each priced at one yardstick request (a client, a Django view and one write): the webhook
    deliveries the till sends, the order fetch and the FIRS calls (a B2C receipt is only signed),
    all measured in this run. Nothing is left for queues, invoices or their statements."""
    from invoices.models import FirsExchange

    firs_calls = FirsExchange.objects.filter(invoice_id__in=invoice_ids).count()
    per_sale = {
        "webhook_deliveries": round(deliveries / max(1, sales), 2),
        "platform_fetches": PLATFORM_FETCHES_PER_SALE,
        "firs_calls": round(firs_calls / max(1, len(invoice_ids)), 2),
    }
    exchanges = sum(per_sale.values())
    return {
        "exchanges_per_sale": {**per_sale, "total": round(exchanges, 2)},
        "ceiling_sales_per_second": round(yardstick_per_second / exchanges, 1)
        if exchanges
        else None,
    }


def markdown(result: dict) -> str:
    def ms(value):
        return "-" if value is None else f"{value * 1000:.0f} ms"

    def seconds(value):
        return "-" if value is None else f"{value:.1f} s"

    latency, ack = result["received_to_signed_seconds"], result["webhook_ack_seconds"]
    yard = result["yardstick_bare_insert"]
    crm_lines = []
    if crm := result.get("crm"):
        crm_latency, crm_ack = crm["received_to_signed_seconds"], crm["webhook_ack_seconds"]
        crm_lines = [
            f"- crm settings: {json.dumps(crm['settings'])}",
            f"- crm deals: {json.dumps(crm['deals'])}",
            f"- crm received -> signed: p50 {seconds(crm_latency['p50'])}, "
            f"p95 {seconds(crm_latency['p95'])}, p99 {seconds(crm_latency['p99'])}, "
            f"max {seconds(crm_latency['max'])}",
            f"- crm webhook ack: p50 {ms(crm_ack['p50'])}, p99 {ms(crm_ack['p99'])}; "
            f"deliveries: {json.dumps(crm['webhook_deliveries'])}",
        ]
    return "\n".join(
        [
            "# make bench: POS and CRM paths on this machine",
            "",
            f"- settings: {json.dumps(result['settings'])}",
            f"- sales: {json.dumps(result['sales'])}",
            f"- received -> signed: p50 {ms(latency['p50'])}, p95 {ms(latency['p95'])}, "
            f"p99 {ms(latency['p99'])}, max {ms(latency['max'])}",
            f"- webhook ack: p50 {ms(ack['p50'])}, p99 {ms(ack['p99'])}",
            f"- sustained: {result['sustained_sales_per_second']} sales/s",
            f"- back-fill during the run: {json.dumps(result['backfill_during_run'])}",
            f"- CPU ms per sale: {json.dumps(result.get('cpu_ms_per_sale'))}",
            f"- yardstick (bare HTTP + one INSERT): {yard['requests_per_second']} req/s, "
            f"p50 {ms(yard['p50'])}; ratio sales/s to yardstick: {result['yardstick_ratio']}",
            f"- HTTP floor: {json.dumps(result['http_floor']['exchanges_per_sale'])} exchanges "
            f"per sale; at one yardstick request each, at most "
            f"{result['http_floor']['ceiling_sales_per_second']} sales/s on this box",
            *crm_lines,
            f"- SLA: {json.dumps(result['sla'])}",
            "",
        ]
    )


def main() -> int:
    args = parse_args()
    import django

    django.setup()
    database_recreate()
    from django.db import connections

    connections.close_all()
    site_url = f"http://127.0.0.1:{args.port}"
    sandbox_url = f"http://127.0.0.1:{args.sandbox_port}"
    print(f"bench: preparing (back-fill seed of {args.backfill} orders)...", flush=True)
    prepared = scenario_prepare(site_url=site_url, sandbox_url=sandbox_url, args=args)
    processes = processes_start(args)
    try:
        wait_until_up(site_url)
        wait_until_up(sandbox_url)
        print("bench: yardstick...", flush=True)
        yardstick = yardstick_measure(site_url, seconds=args.yardstick_seconds)
        from django.utils import timezone

        from integrations.base.pipeline import backfill_start

        backfill_start(
            connection=prepared["connection"],
            start=timezone.now() - timedelta(days=366),
            end=timezone.now() - timedelta(hours=12),
        )
        crm, crm_runs = prepared["crm_connection"], []
        crm_prepared = (
            crm_traffic_prepare(crm, rate=args.crm_rate, duration=args.duration) if crm else None
        )

        print(
            f"bench: {args.rate:g} sales/s and {args.crm_rate:g} deal changes/s "
            f"for {args.duration:g} s...",
            flush=True,
        )
        cpu_before = {}

        def before_sending():
            # From here on: the sales are made in the sandbox, only their sending is left.
            cpu_before.update(cpu_seconds(processes))
            if crm_prepared:
                crm_runs.append(crm_traffic_start(crm_prepared))

        summary, sales, started_at, ended_at = sales_send(
            prepared["connection"],
            rate=args.rate,
            duration=args.duration,
            duplicates=args.duplicates,
            shuffle_window=args.shuffle_window,
            before_sending=before_sending,
        )
        crm_traffic = crm_traffic_finish(crm_runs[0]) if crm_runs else None
        won_deals = len(crm_traffic["platform"].won_deal_ids()) if crm_traffic else 0
        settle(
            sales=sales,
            since_epoch=started_at,
            timeout=args.settle_seconds,
            crm_connection=crm,
            won_deals=won_deals,
        )
        cpu_after = cpu_seconds(processes)
        result = report(
            args=args,
            prepared=prepared,
            yardstick=yardstick,
            summary=summary,
            sales=sales,
            started_at=started_at,
            ended_at=ended_at,
            crm_traffic=crm_traffic,
        )
        result["cpu_seconds_during_sales"] = {
            name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1) for name in cpu_after
        }
        # Per sale signed: under overload the sales still queued have cost little yet.
        result["cpu_ms_per_sale"] = cpu_per_sale(
            result["cpu_seconds_during_sales"], sales=result["sales"]["signed_when_measured"]
        )
    finally:
        processes_stop(processes)
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
