"""The POS pages and the POS cards of the Integrations page: who may do what (manage: owners and
admins; operate: all but viewers), another organization's objects answering 404 like missing
ones, and what each page shows. The connection actions every family shares are in
tests/pages/test_connection_pages.py."""

import logging
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from integrations.base import page_views
from integrations.base.models import SyncRun
from integrations.base.tasks import family_tasks
from integrations.pos import views as pos_views
from integrations.pos.models import POSConnection, POSTransaction
from invoices import services as invoice_services
from invoices.models import Invoice, InvoiceStatusChange
from tests.factories import InvoiceFactory, POSConnectionFactory, POSTransactionFactory

backfill_task = family_tasks("pos").backfill
transaction_invoice_task = family_tasks("pos").invoice_source

pytestmark = pytest.mark.django_db

# Masked CSRF tokens differ on every render; everything else on a 404 page must not.
CSRF_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")
SECRET = "canary-signing-secret-0042"  # POSConnectionFactory's


@pytest.fixture
def connection_a(org_a):
    return POSConnectionFactory(organization=org_a, external_location_id="LOC-LEKKI")


@pytest.fixture
def connection_b(org_b):
    return POSConnectionFactory(organization=org_b, location_name="Bravo Mall")


@pytest.fixture
def queued(monkeypatch):
    """Tasks the pages publish (no broker here): (task name, kwargs, queue)."""
    sent = []
    for task in (backfill_task, transaction_invoice_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, name=task.name: sent.append((name, kwargs, queue)),
        )
    return sent


def _objects_of(connection):
    """A failed transaction and a sync run of ``connection``: the objects the pages act on."""
    transaction = POSTransactionFactory(connection=connection, status="failed")
    run = SyncRun.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        organization=connection.organization,
        kind=SyncRun.Kind.BACKFILL,
    )
    return {"connection": connection.pk, "transaction": transaction.pk, "run": run.pk}


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


OBJECT_PAGES = [
    ("post", "/integrations/pos/connections/{connection}/settings/"),
    ("post", "/integrations/pos/connections/{connection}/disconnect/"),
    ("post", "/integrations/pos/connections/{connection}/test/"),
    ("post", "/integrations/pos/connections/{connection}/sync/"),
    ("post", "/integrations/pos/connections/{connection}/backfill/"),
    ("get", "/pos/transactions/{transaction}/"),
    ("post", "/pos/transactions/{transaction}/retry/"),
    ("get", "/pos/sync-runs/{run}/"),
]


# --- Access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/integrations/"),
        ("post", "/integrations/pos/square/connect/"),
        ("get", "/pos/"),
        ("get", "/pos/transactions/"),
        ("get", "/pos/monitor/"),
        ("get", "/pos/monitor/updates/"),
        *OBJECT_PAGES,
    ],
)
def test_anonymous_users_are_sent_to_sign_in(client, connection_a, method, path):
    path = path.format(**_objects_of(connection_a))
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={quote(path)}"


@pytest.mark.parametrize(("method", "path"), OBJECT_PAGES)
def test_another_organizations_objects_answer_like_missing_ones(
    client_a, connection_b, queued, method, path
):
    objects_b = _objects_of(connection_b)
    missing = {name: uuid.uuid4() for name in objects_b}
    foreign = getattr(client_a, method)(path.format(**objects_b), {"notification_url": ""})
    absent = getattr(client_a, method)(path.format(**missing), {"notification_url": ""})

    assert foreign.status_code == absent.status_code == 404
    assert CSRF_TOKEN.sub(b"", foreign.content) == CSRF_TOKEN.sub(b"", absent.content)
    assert str(connection_b.pk) not in foreign.content.decode()
    connection_b.refresh_from_db()
    assert connection_b.is_active and connection_b.notification_url
    assert SyncRun.objects.count() == 1 and queued == []
    assert POSTransaction.objects.get(pk=objects_b["transaction"]).status == "failed"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Membership.Role.VIEWER, set()),
        (Membership.Role.MEMBER, {"test", "sync", "backfill", "retry"}),
        (
            Membership.Role.ADMIN,
            {"connect", "settings", "disconnect", "test", "sync", "backfill", "retry"},
        ),
    ],
)
def test_roles_decide_who_manages_and_who_operates(
    client, org_a, connection_a, member_a, queued, role, allowed
):
    client.force_login(member_a(role))
    objects = _objects_of(connection_a)
    today = timezone.localdate().isoformat()
    actions = {
        "connect": ("/integrations/pos/square/connect/", {"method": "sandbox"}),
        "settings": (
            "/integrations/pos/connections/{connection}/settings/",
            {"notification_url": "https://shop.example/hook"},
        ),
        "test": ("/integrations/pos/connections/{connection}/test/", {}),
        "sync": ("/integrations/pos/connections/{connection}/sync/", {}),
        "backfill": (
            "/integrations/pos/connections/{connection}/backfill/",
            {"date_from": today, "date_to": today},
        ),
        "retry": ("/pos/transactions/{transaction}/retry/", {}),
        # Last: the others need the connection.
        "disconnect": ("/integrations/pos/connections/{connection}/disconnect/", {}),
    }

    statuses = {
        name: client.post(path.format(**objects), data).status_code
        for name, (path, data) in actions.items()
    }

    assert {name for name, status in statuses.items() if status != 403} == allowed
    assert all(status in (302, 403) for status in statuses.values()), statuses
    connection_a.refresh_from_db()
    assert (connection_a.health == "disconnected") == ("disconnect" in allowed)
    assert (connection_a.notification_url == "https://shop.example/hook") == ("settings" in allowed)
    assert POSConnection.objects.filter(organization=org_a).count() == (
        2 if "connect" in allowed else 1
    )
    assert SyncRun.objects.count() == (3 if "sync" in allowed else 1)
    retried = POSTransaction.objects.get(pk=objects["transaction"]).status == "pending"
    assert retried == ("retry" in allowed)


def test_viewers_read_every_page_without_actions(client, org_a, connection_a, member_a):
    client.force_login(member_a(Membership.Role.VIEWER))
    objects = _objects_of(connection_a)
    pages = [
        "/integrations/",
        "/pos/",
        "/pos/transactions/",
        f"/pos/transactions/{objects['transaction']}/",
        "/pos/monitor/",
        f"/pos/sync-runs/{objects['run']}/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'method="post"' not in response.content.decode().replace(
            'method="post" action="/logout/"', ""
        ), path


# --- Integrations ------------------------------------------------------------------------------


def test_a_sandbox_account_connected_from_the_page_is_named_by_its_location(client_a, org_a):
    response = client_a.post(
        "/integrations/pos/square/connect/", {"method": "sandbox"}, follow=True
    )

    connection = POSConnection.objects.get(organization=org_a)
    assert _messages(response) == [
        f"Connected a Square sandbox account ({connection.location_name})."
    ]


def test_settings_are_saved_and_the_secret_is_write_only(client_a, connection_a):
    path = f"/integrations/pos/connections/{connection_a.pk}/settings/"
    page = client_a.get("/integrations/").content.decode()
    assert SECRET not in page and "Signing secret</dt><dd>Set" in page

    response = client_a.post(
        path,
        {
            "notification_url": "https://shop.example/hook",
            "signing_secret": "",
            "default_hs_code": "1006.3000",
            "default_product_category": "Food",
        },
    )
    assert response.status_code == 302
    connection_a.refresh_from_db()
    assert connection_a.notification_url == "https://shop.example/hook"
    assert connection_a.webhook_secret == SECRET  # left empty: kept
    assert connection_a.connection_settings == {
        "default_hs_code": "1006.3000",
        "default_product_category": "Food",
    }

    client_a.post(path, {"notification_url": "", "signing_secret": "  new-key-77 "})
    connection_a.refresh_from_db()
    assert connection_a.webhook_secret == "new-key-77"
    assert "new-key-77" not in client_a.get("/integrations/").content.decode()


def test_bad_settings_are_shown_on_the_card(client_a, connection_a):
    response = client_a.post(
        f"/integrations/pos/connections/{connection_a.pk}/settings/",
        {"notification_url": "not a url", "default_hs_code": "12;34", "signing_secret": "s3"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid URL." in html
    assert "Use up to 20 letters, digits, dots and dashes." in html
    assert "s3" not in re.findall(r'value="([^"]*)"', html)
    connection_a.refresh_from_db()
    assert connection_a.webhook_secret == SECRET


def test_a_default_hs_code_must_be_on_the_firs_list(client_a, connection_a):
    path = f"/integrations/pos/connections/{connection_a.pk}/settings/"
    refused = client_a.post(path, {"notification_url": "", "default_hs_code": "9999.9999"})
    assert refused.status_code == 400
    assert "9999.9999 is not on the FIRS HS code list" in refused.content.decode()
    connection_a.refresh_from_db()
    assert (connection_a.connection_settings or {}).get("default_hs_code") != "9999.9999"

    # Saved as FIRS writes it; a four-digit ISIC service code is taken as it is.
    for typed, stored in (("10063000", "1006.3000"), ("6202", "6202")):
        assert client_a.post(path, {"default_hs_code": typed}).status_code == 302
        connection_a.refresh_from_db()
        assert connection_a.connection_settings["default_hs_code"] == stored


def test_sync_now_back_fills_the_last_day_and_shows_its_progress(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/integrations/pos/connections/{connection_a.pk}/sync/")
    run = SyncRun.objects.get()
    assert response["Location"] == f"/pos/sync-runs/{run.pk}/"
    assert run.window_end - run.window_start == timedelta(days=1)
    assert before <= run.window_end <= timezone.now()
    assert queued == [("pos.backfill", {"sync_run_id": str(run.pk)}, "batch")]
    # The connection's card links its recent runs.
    assert f'href="/pos/sync-runs/{run.pk}/"' in client_a.get("/integrations/").content.decode()


# --- Dashboard ---------------------------------------------------------------------------------


def test_dashboard_sums_sales_failures_and_signing_latency(client_a, connection_a, connection_b):
    now = timezone.now()
    signed = []
    for seconds in (1, 3):
        invoice = InvoiceFactory(organization=connection_a.organization, signed=True)
        signed.append(
            POSTransactionFactory(
                connection=connection_a,
                transaction_amount=Decimal("1000.00"),
                received_at=now - timedelta(minutes=5),
                signed_at=now - timedelta(minutes=5) + timedelta(seconds=seconds),
                invoice=invoice,
                status="invoiced",
            )
        )
    POSTransactionFactory(connection=connection_a, status="failed", transaction_amount=500)
    # Refunds are not sales; another organization's sales are not ours.
    POSTransactionFactory(connection=connection_a, kind="refund", transaction_amount=1000)
    POSTransactionFactory(connection=connection_b, transaction_amount=Decimal("99999.00"))

    response = client_a.get("/pos/")
    today = response.context["summaries"]["today"]
    assert (today.sales, today.totals, today.signed, today.failed) == (
        3,
        [("NGN", Decimal("2500.00"))],
        2,
        1,
    )
    hour, day = response.context["latencies"]
    # percentile_cont interpolates: half way between 1 s and 3 s, and 99 % of the way.
    assert (hour.signed, hour.p50, hour.p99) == (2, timedelta(seconds=2), timedelta(seconds=2.98))
    assert hour.within_target is False
    assert day.p50 == timedelta(seconds=2)
    chart = response.context["chart"]
    assert len(chart["bars"]) == 24
    assert sum(bar["sales"] for bar in chart["bars"]) == 3
    assert sum(bar["signed"] for bar in chart["bars"]) == 2
    assert chart["bars"][-1]["hour"] == timezone.localtime(now).replace(
        minute=0, second=0, microsecond=0
    )
    html = response.content.decode()
    assert "₦2,500.00" in html and "99,999" not in html
    assert '<svg viewBox="0 -8 756 192" role="img"' in html


def test_an_empty_dashboard_has_no_latency_yet(client_a):
    response = client_a.get("/pos/")
    assert response.status_code == 200
    assert [
        (latency.signed, latency.p50, latency.within_target)
        for latency in response.context["latencies"]
    ] == [(0, None, None)] * 2
    assert "No invoices signed" in response.content.decode()


# --- Transactions ------------------------------------------------------------------------------


def test_transactions_filter_by_status_location_date_and_external_id(
    client_a, connection_a, connection_b
):
    now = timezone.now()
    invoiced = POSTransactionFactory(
        connection=connection_a, status="invoiced", external_location_id="LOC-LEKKI"
    )
    failed = POSTransactionFactory(connection=connection_a, status="failed")
    last_week = POSTransactionFactory(
        connection=connection_a, transaction_timestamp=now - timedelta(days=7)
    )
    POSTransactionFactory(connection=connection_b)

    def listed(**query):
        return {row.pk for row in client_a.get("/pos/transactions/", query).context["transactions"]}

    assert listed() == {invoiced.pk, failed.pk, last_week.pk}
    assert listed(status="failed") == {failed.pk}
    assert listed(location="LOC-LEKKI") == {invoiced.pk}
    assert listed(platform="square") == {invoiced.pk, failed.pk, last_week.pk}
    assert listed(q=failed.external_transaction_id) == {failed.pk}
    week_ago = timezone.localtime(last_week.transaction_timestamp).date().isoformat()
    assert listed(date_from=week_ago, date_to=week_ago) == {last_week.pk}
    assert listed(date_from=timezone.localdate().isoformat()) == {invoiced.pk, failed.pk}


def test_transactions_page_by_keyset_without_counting(client_a, connection_a, monkeypatch):
    monkeypatch.setattr(pos_views, "PAGE_SIZE", 2)
    now = timezone.now()
    rows = [
        POSTransactionFactory(connection=connection_a, transaction_timestamp=now - timedelta(i))
        for i in range(5)
    ]

    pages, query = [], "platform=square"
    with CaptureQueriesContext(db_connection) as queries:
        while query is not None:
            pages.append(client_a.get(f"/pos/transactions/?{query}"))
            query = pages[-1].context["next_page_query"]

    assert [[row.pk for row in page.context["transactions"]] for page in pages] == [
        [rows[0].pk, rows[1].pk],
        [rows[2].pk, rows[3].pk],
        [rows[4].pk],
    ]
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
    assert pages[2].context["first_page_query"] == "platform=square"
    assert client_a.get("/pos/transactions/", {"before": "garbage"}).status_code == 200


def test_htmx_filtering_gets_the_transaction_results_only(client_a, connection_a):
    row = POSTransactionFactory(connection=connection_a)
    response = client_a.get(
        "/pos/transactions/", {"q": row.external_transaction_id}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" not in html and row.external_transaction_id in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("path", ["/pos/transactions/", "/crm/deals/", "/erp/documents/"])
def test_every_list_filter_is_optional_so_the_browser_sends_the_form(client_a, path):
    # A select marked required whose first choice is "Any" keeps the browser, and htmx's
    # change trigger, from sending the form at all.
    html = client_a.get(path).content.decode()
    form = re.search(r'<form class="filters".*?</form>', html, re.S).group(0)
    assert "<select" in form
    assert not re.search(r"<(select|input)[^>]*\brequired\b", form)


def test_a_transaction_shows_its_invoice_history_errors_and_items(client_a, connection_a):
    invoice = InvoiceFactory(organization=connection_a.organization, status="needs_attention")
    InvoiceStatusChange.objects.create(
        invoice=invoice, from_status="validated", to_status="needs_attention"
    )
    row = POSTransactionFactory(
        connection=connection_a,
        invoice=invoice,
        status="failed",
        items=[
            {"name": "Rice 5kg", "quantity": "2", "unit_price": "9500.00", "hs_code": ""},
            {"name": "Milo 500g", "quantity": "1", "unit_price": "3250", "discount": "250.00"},
        ],
        processing_errors={"problems": [{"path": "lines[0].hs_code", "message": "is missing"}]},
    )

    response = client_a.get(f"/pos/transactions/{row.pk}/")
    html = response.content.decode()
    for text in (
        f'href="/invoices/{invoice.pk}/"',
        "validated → <strong>needs_attention</strong>",
        "lines[0].hs_code: is missing",
        "Rice 5kg",
        ">Retry</button>",
        # Prices and discounts as every other amount: naira, thousands separated.
        '<td class="num">₦9,500.00</td>',
    ):
        assert text in html, text
    assert re.search(r'<td class="num">₦3,250.00</td>\s*<td class="num">₦250.00</td>', html)
    assert '<td class="num">9500.00</td>' not in html


def test_a_sales_tips_are_shown_apart_from_the_invoiced_amount(client_a, connection_a):
    row = POSTransactionFactory(
        connection=connection_a, transaction_metadata={"sale": {}, "raw": {"tip_total": "1500.00"}}
    )
    untipped = POSTransactionFactory(
        connection=connection_a, transaction_metadata={"sale": {}, "raw": {"tip_total": "0.00"}}
    )

    html = client_a.get(f"/pos/transactions/{row.pk}/").content.decode()

    assert "<dt>Tips</dt>" in html and "not on the invoice" in html and "1,500.00" in html
    assert "<dt>Tips</dt>" not in client_a.get(f"/pos/transactions/{untipped.pk}/").content.decode()


def test_retrying_queues_the_transaction_again(
    client_a, owner_a, connection_a, queued, django_capture_on_commit_callbacks, caplog
):
    row = POSTransactionFactory(
        connection=connection_a, status="failed", processing_errors={"error_message": "Refund of x"}
    )
    caplog.set_level(logging.INFO, logger="integrations.base.pipeline")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/pos/transactions/{row.pk}/retry/", follow=True)

    assert f"transactions {row.pk} queued again by {owner_a}" in caplog.messages

    assert _messages(response) == ["Queued again; this page shows the outcome when it is done."]
    assert queued == [("pos.invoice_transaction", {"transaction_id": str(row.pk)}, "realtime")]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert ">Retry</button>" not in response.content.decode()


def test_retrying_an_invoice_on_its_way_does_nothing(client_a, connection_a, queued):
    invoice = InvoiceFactory(organization=connection_a.organization, signed=True)
    row = POSTransactionFactory(connection=connection_a, invoice=invoice, status="invoiced")
    response = client_a.post(f"/pos/transactions/{row.pk}/retry/", follow=True)
    assert _messages(response) == ["Nothing to retry: its invoice is on its way or done."]
    assert queued == []


# --- Live monitor ------------------------------------------------------------------------------


def test_the_monitor_polls_for_rows_changed_since_the_last_poll(client_a, connection_a, org_b):
    old = POSTransactionFactory(connection=connection_a)
    POSTransaction.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - timedelta(minutes=1)
    )
    page = client_a.get("/pos/monitor/")
    html = page.content.decode()
    assert f'id="monitor-{old.pk}"' in html
    assert 'hx-trigger="every 1s"' in html
    since = page.context["since"]

    fresh = POSTransactionFactory(connection=connection_a)
    POSTransactionFactory(connection=POSConnectionFactory(organization=org_b))
    # The invoice of an older sale moving on is a change too.
    moved = POSTransactionFactory(
        connection=connection_a, invoice=InvoiceFactory(organization=connection_a.organization)
    )
    POSTransaction.objects.filter(pk=moved.pk).update(
        updated_at=timezone.now() - timedelta(minutes=1)
    )
    Invoice.objects.filter(pk=moved.invoice_id).update(
        status="signed", updated_at=timezone.now() + timedelta(seconds=1)
    )

    poll = client_a.get("/pos/monitor/updates/", {"since": since.isoformat()})
    assert [row.pk for row in poll.context["rows"]] == [moved.pk, fresh.pk]
    html = poll.content.decode()
    assert f'id="monitor-{old.pk}"' not in html
    assert re.search(r'<input type="hidden" id="monitor-since" name="since" value="[^"]+"', html)
    assert 'hx-swap-oob="true"' in html
    assert poll.context["since"] > since


def test_the_monitor_retries_a_failing_invoice_in_its_row(client_a, connection_a, monkeypatch):
    enqueued = []
    monkeypatch.setattr(
        invoice_services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: enqueued.append(invoice.pk),
    )
    failing = POSTransactionFactory(
        connection=connection_a,
        invoice=InvoiceFactory(organization=connection_a.organization, status="needs_attention"),
    )
    html = client_a.get("/pos/monitor/").content.decode()
    cell = f'id="invoice-status-{failing.invoice_id}"'
    assert cell in html
    assert f'hx-post="/invoices/{failing.invoice_id}/retry/"' in html

    answer = client_a.post(
        f"/invoices/{failing.invoice_id}/retry/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"invoice-status-{failing.invoice_id}",
    ).content.decode()
    assert cell in answer and "Queued again" in answer
    assert enqueued == [failing.invoice_id]


def test_a_poll_without_its_time_is_refused(client_a):
    assert client_a.get("/pos/monitor/updates/").status_code == 400
    assert client_a.get("/pos/monitor/updates/", {"since": "yesterday"}).status_code == 400


def test_pausing_the_monitor_removes_the_poller(client_a):
    since = timezone.now().isoformat()
    paused = client_a.get("/pos/monitor/", {"paused": "1", "since": since}, HTTP_HX_REQUEST="true")
    html = paused.content.decode()
    assert "<html" not in html
    assert "hx-trigger" not in html and ">Resume</button>" in html
    assert f'name="since" value="{timezone.localtime(paused.context["since"]).isoformat()}"' in html

    resumed = client_a.get("/pos/monitor/", {"since": since}, HTTP_HX_REQUEST="true")
    html = resumed.content.decode()
    assert 'hx-trigger="every 1s"' in html and ">Pause</button>" in html


@pytest.mark.parametrize(
    ("peak", "top", "ticks"),
    [
        (0, 1, [0, 1]),
        (4, 4, [0, 1, 2, 3, 4]),
        (7, 8, [0, 2, 4, 6, 8]),
        (354, 400, [0, 100, 200, 300, 400]),
    ],
)
def test_chart_y_axis_has_round_ticks_above_the_tallest_bar(peak, top, ticks):
    assert page_views.chart_scale(peak) == (top, ticks)


@pytest.mark.django_db
def test_dashboard_chart_has_a_labelled_y_axis(client_a, org_a):
    POSTransactionFactory.create_batch(7, connection__organization=org_a)
    html = client_a.get("/pos/").content.decode()
    for value in (0, 2, 4, 6, 8):
        assert f'text-anchor="end">{value}</text>' in html
    assert "Per hour, Lagos time (WAT)" in html


@pytest.mark.django_db
def test_dashboard_signs_sales_and_refunds_apart_and_nets_refunds_and_vat(client_a, connection_a):
    now = timezone.now()
    signed_at = {"signed_at": now, "status": "invoiced"}
    for _ in range(3):
        POSTransactionFactory(
            connection=connection_a,
            transaction_amount=Decimal("1075.00"),
            tax_amount=Decimal("75.00"),
            **signed_at,
        )
    POSTransactionFactory(
        connection=connection_a,
        transaction_amount=Decimal("1075.00"),
        tax_amount=Decimal("75.00"),
    )
    # Two refunds, both signed as credit notes: before, they made "signed" exceed "sales".
    for _ in range(2):
        POSTransactionFactory(
            connection=connection_a,
            kind="refund",
            transaction_amount=Decimal("215.00"),
            tax_amount=Decimal("15.00"),
            **signed_at,
        )
    # Last month's sale counts only when last month is picked.
    last_month = timezone.localtime(now).replace(day=1) - timedelta(days=3)
    POSTransactionFactory(
        connection=connection_a,
        transaction_amount=Decimal("500.00"),
        tax_amount=Decimal("34.88"),
        transaction_timestamp=last_month,
    )

    month = client_a.get("/pos/").context["summaries"]["period"]
    assert (month.sales, month.signed, month.refunds, month.signed_refunds) == (4, 3, 2, 2)
    assert month.signed <= month.sales
    assert month.totals == [("NGN", Decimal("4300.00"))]
    assert month.refund_totals == [("NGN", Decimal("430.00"))]
    assert month.net_totals == [("NGN", Decimal("3870.00"))]
    assert month.vat_totals == [("NGN", Decimal("270.00"))]
    assert "\N{MINUS SIGN}₦215.00" in client_a.get("/pos/transactions/").content.decode()

    response = client_a.get("/pos/", {"period": "last_month"})
    previous = response.context["summaries"]["period"]
    assert (previous.sales, previous.vat_totals) == (1, [("NGN", Decimal("34.88"))])
    assert f"{last_month:%B %Y}" in response.content.decode()

    day = timezone.localdate(last_month).isoformat()
    custom = client_a.get("/pos/", {"period": "custom", "period_from": day, "period_to": day})
    assert custom.context["summaries"]["period"].sales == 1
    refused = client_a.get("/pos/", {"period": "custom", "period_from": day})
    assert refused.status_code == 400
    assert "Custom dates need both a first and a last day." in refused.content.decode()
