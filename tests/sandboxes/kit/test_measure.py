"""``sandbox_traffic --measure``: a few sales sent to a measurement connection beside the demo's,
worked by a real worker on a live site, then counted from the database. Nothing is timed: the
figures must exist and the counts must agree."""

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command

from integrations.pos.models import POSConnection, POSTransaction
from invoices.firs.client import SharedCircuitBreaker
from sandboxes.firs.server import FAULTS_CACHE_KEY
from sandboxes.kit.measure import MEASURE_NAME, measure_connection_ensure

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SALES = 4


@pytest.fixture
def demo_file(live_server, tmp_path):
    # Not cache.clear(): that flushes the whole Redis database, which a `make run` of the same
    # checkout shares (its queues, tokens and rate-limit pauses).
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    path = tmp_path / "demo.json"
    call_command("create_demo_data", url=live_server.url, output=str(path))
    return path


def _demo_connection(path, platform: str) -> dict:
    return next(e for e in json.loads(path.read_text())["connections"] if e["platform"] == platform)


# Without refunds or returns each change is one sale; Lightspeed's laybys, saved open two or
# three times (some within one second: one event to us), still make one sale each.
PLATFORM_OPTIONS = {
    "toast": ["--toast-refund-share", "0"],
    "lightspeed": ["--return-share", "0", "--void-share", "0"],
}


@pytest.mark.parametrize("platform", sorted(PLATFORM_OPTIONS))
def test_a_measured_run_reports_its_own_sales_from_the_database(
    demo_file, start_worker, clean_queues, capsys, platform
):
    demo = _demo_connection(demo_file, platform)
    start_worker("realtime", pool="threads", concurrency=4)
    capsys.readouterr()

    call_command(
        "sandbox_traffic",
        "--platform",
        platform,
        "--connection",
        demo["id"],
        "--demo-file",
        str(demo_file),
        "--measure",
        "--count",
        str(SALES),
        "--change-rate",
        "2",
        *PLATFORM_OPTIONS[platform],
        "--settle-timeout",
        "120",
    )

    line, document = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(document)
    figures = summary["measure"]
    measured = POSConnection.objects.get(pk=figures["connection"])
    assert measured.display_name == MEASURE_NAME and str(measured.pk) != demo["id"]
    assert measured.account_id != demo["account_id"]
    assert summary["changes"] == SALES and summary["non_2xx"] == 0
    rows = POSTransaction.objects.filter(connection=measured)
    assert figures["rows_received"] == rows.count() >= SALES
    assert figures["signed"] == figures["invoiced"] == rows.count()
    assert figures["events_stored"] == figures["events_sent"] >= SALES
    assert figures["lost_events"] == figures["not_signed"] == figures["failed"] == 0
    assert figures["duplicate_rows"] == figures["duplicate_invoices"] == 0
    assert 0 <= figures["received_to_signed_p50_s"] <= figures["received_to_signed_p99_s"]
    assert figures["received_to_signed_p99_s"] <= figures["received_to_signed_max_s"]
    assert not POSTransaction.objects.filter(connection_id=demo["id"]).exists()
    assert "p99" in line and f"{SALES} changes" in line


def test_the_measurement_connection_is_made_once_and_reused(demo_file):
    demo = _demo_connection(demo_file, "lightspeed")
    site_url = json.loads(demo_file.read_text())["url"]

    first = measure_connection_ensure(family="pos", connection_id=demo["id"], site_url=site_url)
    again = measure_connection_ensure(family="pos", connection_id=demo["id"], site_url=site_url)

    assert first == again and first.display_name == MEASURE_NAME
    assert first.pos_type == "lightspeed" and first.is_sandbox
    assert str(first.organization_id) == str(
        POSConnection.objects.get(pk=demo["id"]).organization_id
    )
