"""The CRM pages and the CRM cards of the Integrations page: who may do what (manage: owners and
admins; operate: all but viewers), another organization's objects answering 404 like missing
ones, and what each page shows. The connection actions every family shares are in
tests/pages/test_connection_pages.py."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from integrations.base.models import SyncRun
from integrations.base.tasks import family_tasks
from integrations.crm import views as crm_views
from integrations.crm.models import CRMConnection, CRMDeal
from invoices.models import Invoice, InvoiceStatusChange
from invoices.tasks import invoice_advance
from tests.factories import CRMConnectionFactory, CRMDealFactory, InvoiceFactory
from tests.integrations.crm.support import hubspot_connection

backfill_task = family_tasks("crm").backfill
connection_sync_task = family_tasks("crm").sync_connection
deal_invoice_task = family_tasks("crm").invoice_source

pytestmark = pytest.mark.django_db

# Masked CSRF tokens differ on every render; everything else on a 404 page must not.
CSRF_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")
SECRET = "canary-signing-secret-0042"  # CRMConnectionFactory's
LINES = [
    {
        "name": "POS terminal",
        "quantity": "2",
        "unit_price": "240000.00",
        "discount": "0",
        "tax_rate": None,
        "hs_code": "8470.5000",
        "sku": "POS-X",
    }
]
BUYER = {
    "name": "Savannah Agro-Allied Processors Limited",
    "tin": "17402958-0001",
    "email": "accounts@savannahagro.example",
    "street_name": "Plot 1021 Aminu Kano Crescent",
    "city_name": "Wuse II",
    "postal_zone": "900288",
    "state": "FCT",
    "country": "NG",
}


@pytest.fixture
def connection_a(org_a):
    return CRMConnectionFactory(organization=org_a)


@pytest.fixture
def connection_b(org_b):
    return CRMConnectionFactory(organization=org_b, connection_name="Bravo sales")


@pytest.fixture
def queued(monkeypatch):
    """Tasks the pages publish (no broker here): (task name, kwargs, queue)."""
    sent = []
    for task in (backfill_task, connection_sync_task, deal_invoice_task, invoice_advance):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, name=task.name: sent.append(
                (name, kwargs, queue)
            ),
        )
    return sent


def _objects_of(connection):
    """A won deal without an invoice and a sync run of ``connection``: what the pages act on."""
    deal = CRMDealFactory(connection=connection, status="failed")
    run = SyncRun.objects.create(
        family="crm",
        platform="hubspot",
        connection_id=connection.pk,
        organization=connection.organization,
        kind=SyncRun.Kind.BACKFILL,
    )
    return {"connection": connection.pk, "deal": deal.pk, "run": run.pk}


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


OBJECT_PAGES = [
    ("get", "/crm/connections/{connection}/settings/"),
    ("post", "/crm/connections/{connection}/settings/"),
    ("post", "/integrations/crm/connections/{connection}/disconnect/"),
    ("post", "/integrations/crm/connections/{connection}/test/"),
    ("post", "/integrations/crm/connections/{connection}/sync/"),
    ("post", "/integrations/crm/connections/{connection}/backfill/"),
    ("get", "/crm/deals/{deal}/"),
    ("post", "/crm/deals/{deal}/retry/"),
    ("get", "/crm/sync-runs/{run}/"),
]


# --- Access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/integrations/crm/hubspot/connect/"),
        ("get", "/crm/"),
        ("get", "/crm/deals/"),
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
    data = {"won_stage_ids": ["closedwon"], "tin_property": "vat_id", "sync_every_minutes": 5}
    foreign = getattr(client_a, method)(path.format(**objects_b), data)
    absent = getattr(client_a, method)(path.format(**missing), data)

    assert foreign.status_code == absent.status_code == 404
    assert CSRF_TOKEN.sub(b"", foreign.content) == CSRF_TOKEN.sub(b"", absent.content)
    assert str(connection_b.pk) not in foreign.content.decode()
    connection_b.refresh_from_db()
    assert connection_b.is_active and connection_b.tin_property == "tin"
    assert SyncRun.objects.count() == 1 and queued == []
    assert CRMDeal.objects.get(pk=objects_b["deal"]).status == "failed"


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
    client, org_a, connection_a, member_a, queued, django_capture_on_commit_callbacks, role, allowed
):
    client.force_login(member_a(role))
    objects = _objects_of(connection_a)
    today = timezone.localdate().isoformat()
    actions = {
        "connect": ("post", "/integrations/crm/hubspot/connect/", {"method": "sandbox"}),
        # The factory's account is out of reach: a manager gets the page saying so.
        "settings": ("get", "/crm/connections/{connection}/settings/", {}),
        "test": ("post", "/integrations/crm/connections/{connection}/test/", {}),
        "sync": ("post", "/integrations/crm/connections/{connection}/sync/", {}),
        "backfill": (
            "post",
            "/integrations/crm/connections/{connection}/backfill/",
            {"date_from": today, "date_to": today},
        ),
        "retry": ("post", "/crm/deals/{deal}/retry/", {}),
        # Last: the others need the connection.
        "disconnect": ("post", "/integrations/crm/connections/{connection}/disconnect/", {}),
    }

    with django_capture_on_commit_callbacks(execute=True):
        statuses = {
            name: getattr(client, method)(path.format(**objects), data).status_code
            for name, (method, path, data) in actions.items()
        }

    assert {name for name, status in statuses.items() if status != 403} == allowed
    assert all(status in (302, 403, 502) for status in statuses.values()), statuses
    connection_a.refresh_from_db()
    assert (connection_a.health == "disconnected") == ("disconnect" in allowed)
    assert CRMConnection.objects.filter(organization=org_a).count() == (
        2 if "connect" in allowed else 1
    )
    assert SyncRun.objects.count() == (2 if "backfill" in allowed else 1)
    published = {name for name, _, _ in queued}
    assert ("crm.sync_connection" in published) == ("sync" in allowed)
    assert ("crm.invoice_deal" in published) == ("retry" in allowed)


def test_viewers_read_every_page_without_actions(client, connection_a, member_a):
    client.force_login(member_a(Membership.Role.VIEWER))
    objects = _objects_of(connection_a)
    pages = [
        "/integrations/",
        "/crm/",
        "/crm/deals/",
        f"/crm/deals/{objects['deal']}/",
        f"/crm/sync-runs/{objects['run']}/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert 'method="post"' not in html.replace('method="post" action="/logout/"', ""), path
        assert "/settings/" not in html, path


def test_members_operate_but_do_not_see_what_managers_do(client, connection_a, member_a):
    client.force_login(member_a(Membership.Role.MEMBER))
    html = client.get("/integrations/").content.decode()
    assert f"/integrations/crm/connections/{connection_a.pk}/test/" in html
    assert f"/integrations/crm/connections/{connection_a.pk}/backfill/" in html
    assert f"/integrations/crm/connections/{connection_a.pk}/disconnect/" not in html
    assert f"/crm/connections/{connection_a.pk}/settings/" not in html
    assert "/integrations/crm/hubspot/connect/" not in html
    assert "An owner or admin can connect HubSpot." not in html  # it has a connection


# --- Integrations ------------------------------------------------------------------------------


def test_every_family_has_a_platform_and_a_crm_card_links_its_settings_page(client_a, org_a):
    connection = CRMConnectionFactory(organization=org_a)

    html = client_a.get("/integrations/").content.decode()

    assert html.count("Coming soon") == 0
    assert f'href="/crm/connections/{connection.pk}/settings/"' in html


def test_a_sandbox_account_connected_from_the_page_comes_with_its_won_stages(client_a, org_a):
    response = client_a.post(
        "/integrations/crm/hubspot/connect/", {"method": "sandbox"}, follow=True
    )

    connection = CRMConnection.objects.get(organization=org_a)
    assert connection.won_stage_ids == ["closedwon"]
    assert _messages(response) == [
        f"Connected a HubSpot sandbox account ({connection.account_id})."
    ]


def test_sync_now_queues_an_incremental_sync(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"/integrations/crm/connections/{connection_a.pk}/sync/", follow=True
        )
    assert response.redirect_chain == [(f"/integrations/#connection-{connection_a.pk}", 302)]
    assert queued == [("crm.sync_connection", {"connection_id": str(connection_a.pk)}, "standard")]
    assert _messages(response) == ["A sync was queued; the deals it finds appear under Deals."]


def test_a_finished_back_fill_says_how_many_deals_it_pulled_and_links_them(client_a, connection_a):
    run = SyncRun.objects.get(pk=_objects_of(connection_a)["run"])
    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", pages=2, rows=40)

    page = client_a.get(f"/crm/sync-runs/{run.pk}/").content.decode()
    partial = client_a.get(f"/crm/sync-runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert 'href="/crm/deals/"' in page
    assert "Finished: 40 deals pulled." in partial


# --- Settings ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_settings_choose_won_stages_among_the_accounts_pipelines(live_server, client, monkeypatch):
    # The live server's thread (the sandbox answering) must not keep a database connection, or
    # the test database cannot be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    cache.clear()
    connection = hubspot_connection(site_url=live_server.url)
    client.force_login(connection.organization.memberships.get(role="owner").user)
    path = f"/crm/connections/{connection.pk}/settings/"

    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<legend>Sales Pipeline</legend>" in html
    assert re.search(r'value="closedwon" id="[^"]+" checked>', html)
    assert re.search(r'value="contractsent" id="[^"]+">', html)

    def save(**changes):
        data = {"won_stage_ids": ["closedwon"], "tin_property": "tin", "sync_every_minutes": 1}
        return client.post(path, {**data, **changes})

    refused = {
        "won_stage_ids": (["closedwon", "nope"], "Select a valid choice. nope is not one"),
        "tin_property": ("Company TIN", "internal name: lower-case letters"),
        "sync_every_minutes": (1441, "less than or equal to 1440"),
    }
    for field, (value, error) in refused.items():
        response = save(**{field: value})
        assert response.status_code == 400, field
        assert error in response.content.decode(), field
    response = client.post(path, {"tin_property": "tin", "sync_every_minutes": 1})
    assert "Choose at least one stage that means won." in response.content.decode()
    connection.refresh_from_db()
    assert (connection.won_stage_ids, connection.tin_property) == (["closedwon"], "tin")

    response = save(
        won_stage_ids=["closedwon", "contractsent"], tin_property="vat_id", sync_every_minutes=0
    )
    assert response["Location"] == path
    connection.refresh_from_db()
    assert connection.won_stage_ids == ["closedwon", "contractsent"]
    assert (connection.tin_property, connection.sync_every_minutes) == ("vat_id", 0)
    assert connection.webhook_secret  # untouched


def test_settings_say_when_the_platform_cannot_be_asked_for_its_pipelines(client_a, connection_a):
    response = client_a.get(f"/crm/connections/{connection_a.pk}/settings/")
    assert response.status_code == 502
    html = response.content.decode()
    assert "The pipelines could not be read" in html and "Save settings" not in html
    saved = client_a.post(
        f"/crm/connections/{connection_a.pk}/settings/",
        {"won_stage_ids": ["anything"], "tin_property": "vat_id", "sync_every_minutes": 5},
    )
    assert saved.status_code == 502
    connection_a.refresh_from_db()
    assert connection_a.tin_property == "tin"


# --- Dashboard ---------------------------------------------------------------------------------


def test_dashboard_counts_won_deals_failures_and_won_to_signed_latency(
    client_a, connection_a, connection_b
):
    now = timezone.now()
    for seconds in (10, 50):
        CRMDealFactory(
            connection=connection_a,
            deal_amount=Decimal("100000.00"),
            received_at=now - timedelta(minutes=5),
            signed_at=now - timedelta(minutes=5) + timedelta(seconds=seconds),
            invoice=InvoiceFactory(organization=connection_a.organization, signed=True),
            status="invoiced",
        )
    CRMDealFactory(connection=connection_a, status="failed", deal_amount=Decimal("5000.00"))
    # Deals not won are not counted as won; another organization's are not ours.
    CRMDealFactory(connection=connection_a, is_won=False, status="not_won")
    CRMDealFactory(connection=connection_b, deal_amount=Decimal("99999.00"))

    response = client_a.get("/crm/")
    today = response.context["summaries"]["today"]
    assert (today.won, today.totals, today.signed, today.failed) == (
        3,
        [("NGN", Decimal("205000.00"))],
        2,
        1,
    )
    hour, day = response.context["latencies"]
    # percentile_cont interpolates: half way between 10 s and 50 s, and 99 % of the way.
    assert (hour.signed, hour.p50, hour.p99) == (2, timedelta(seconds=30), timedelta(seconds=49.6))
    assert hour.within_target is False
    assert day.p50 == timedelta(seconds=30)
    chart = response.context["chart"]
    assert len(chart["bars"]) == 24
    assert sum(bar["won"] for bar in chart["bars"]) == 3
    assert sum(bar["signed"] for bar in chart["bars"]) == 2
    html = response.content.decode()
    assert "₦205,000.00" in html and "99,999" not in html
    assert "Target: 30 s" in html
    assert '<svg viewBox="0 -8 756 192" role="img"' in html


def test_an_empty_dashboard_has_no_latency_yet(client_a):
    response = client_a.get("/crm/")
    assert response.status_code == 200
    assert [
        (latency.signed, latency.p50, latency.within_target)
        for latency in response.context["latencies"]
    ] == [(0, None, None)] * 2
    assert "No invoices signed" in response.content.decode()


# --- Deals -------------------------------------------------------------------------------------


def test_deals_filter_by_status_won_invoiced_failed_stage_platform_date_and_search(
    client_a, org_a, connection_a, connection_b
):
    now = timezone.now()
    invoiced = CRMDealFactory(
        connection=connection_a,
        status="invoiced",
        invoice=InvoiceFactory(organization=org_a, source_type="crm"),
        deal_title="Lekki roll-out",
    )
    attention = CRMDealFactory(
        connection=connection_a,
        status="invoiced",
        invoice=InvoiceFactory(organization=org_a, source_type="crm", status="needs_attention"),
    )
    failed = CRMDealFactory(connection=connection_a, status="failed")
    open_deal = CRMDealFactory(
        connection=connection_a,
        is_won=False,
        status="not_won",
        deal_stage="contractsent",
        received_at=now - timedelta(days=7),
    )
    CRMDealFactory(connection=connection_b, deal_title="Lekki roll-out")

    def listed(**query):
        return {row.pk for row in client_a.get("/crm/deals/", query).context["deals"]}

    everything = {invoiced.pk, attention.pk, failed.pk, open_deal.pk}
    assert listed() == everything
    assert listed(status="failed") == {failed.pk}
    assert listed(won="true") == {invoiced.pk, attention.pk, failed.pk}
    assert listed(won="false") == {open_deal.pk}
    assert listed(invoiced="true") == {invoiced.pk, attention.pk}
    assert listed(invoiced="false") == {failed.pk, open_deal.pk}
    assert listed(failed="true") == {attention.pk, failed.pk}
    assert listed(failed="false") == {invoiced.pk, open_deal.pk}
    assert listed(stage="contractsent") == {open_deal.pk}
    assert listed(platform="hubspot") == everything
    assert listed(q=failed.external_deal_id) == {failed.pk}
    assert listed(q="lekki ROLL") == {invoiced.pk}
    week_ago = timezone.localtime(open_deal.received_at).date().isoformat()
    assert listed(date_from=week_ago, date_to=week_ago) == {open_deal.pk}
    assert listed(date_from=timezone.localdate().isoformat()) == everything - {open_deal.pk}


def test_deals_page_by_keyset_without_counting(client_a, connection_a, monkeypatch):
    monkeypatch.setattr(crm_views, "PAGE_SIZE", 2)
    now = timezone.now()
    rows = [
        CRMDealFactory(connection=connection_a, received_at=now - timedelta(hours=i))
        for i in range(5)
    ]

    pages, query = [], "won=true"
    with CaptureQueriesContext(db_connection) as queries:
        while query is not None:
            pages.append(client_a.get(f"/crm/deals/?{query}"))
            query = pages[-1].context["next_page_query"]

    assert [[row.pk for row in page.context["deals"]] for page in pages] == [
        [rows[0].pk, rows[1].pk],
        [rows[2].pk, rows[3].pk],
        [rows[4].pk],
    ]
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
    assert pages[2].context["first_page_query"] == "won=true"
    assert client_a.get("/crm/deals/", {"before": "garbage"}).status_code == 200


def test_htmx_filtering_gets_the_deal_results_only(client_a, connection_a):
    row = CRMDealFactory(connection=connection_a)
    response = client_a.get("/crm/deals/", {"q": row.external_deal_id}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and row.external_deal_id in html
    assert "HX-Request" in response["Vary"]


def test_a_deal_shows_its_buyer_items_invoice_and_history(client_a, org_a, connection_a):
    invoice = InvoiceFactory(organization=org_a, source_type="crm", signed=True)
    InvoiceStatusChange.objects.create(invoice=invoice, from_status="validated", to_status="signed")
    now = timezone.now()
    row = CRMDealFactory(
        connection=connection_a,
        invoice=invoice,
        status="invoiced",
        buyer_name=BUYER["name"],
        buyer_tin=BUYER["tin"],
        customer_data=BUYER,
        line_items=LINES,
        received_at=now - timedelta(seconds=12),
        signed_at=now,
    )

    html = client_a.get(f"/crm/deals/{row.pk}/").content.decode()
    for text in (
        BUYER["name"],
        BUYER["tin"],
        "Plot 1021 Aminu Kano Crescent, Wuse II 900288, FCT, NG",
        "POS terminal",
        "8470.5000",
        '<td class="num">₦240,000.00</td>',
        f'href="/invoices/{invoice.pk}/"',
        "validated → <strong>signed</strong>",
        "<dt>Won to signed</dt><dd>12.00 s</dd>",
    ):
        assert text in html, text
    assert "Generate invoice" not in html and ">Retry</button>" not in html


@pytest.mark.parametrize(
    ("deal", "button"),
    [
        ({"status": "failed"}, "Generate invoice"),
        ({"status": "not_won", "is_won": False}, None),
        ({"status": "invoiced", "invoice_status": "needs_attention"}, "Retry"),
        ({"status": "invoiced", "invoice_status": "confirmed"}, None),
    ],
)
def test_operators_get_the_button_the_deal_needs(
    client, org_a, connection_a, member_a, deal, button
):
    invoice_status = deal.pop("invoice_status", None)
    if invoice_status:
        deal["invoice"] = InvoiceFactory(organization=org_a, status=invoice_status)
    row = CRMDealFactory(connection=connection_a, **deal)
    buttons = {"Generate invoice", "Retry"}
    for role, sees in (("member", button), ("viewer", None)):
        client.force_login(member_a(role))
        html = client.get(f"/crm/deals/{row.pk}/").content.decode()
        assert {name for name in buttons if f">{name}</button>" in html} == (
            {sees} if sees else set()
        ), role


def test_generating_a_won_deals_invoice_queues_it(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    row = CRMDealFactory(connection=connection_a, status="failed", processing_errors=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/crm/deals/{row.pk}/retry/", follow=True)

    assert _messages(response) == ["Queued; this page shows the outcome when it is done."]
    assert queued == [("crm.invoice_deal", {"deal_id": str(row.pk)}, "standard")]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)


def test_retrying_an_invoice_that_needs_attention_re_drives_it(
    client_a, org_a, connection_a, queued, django_capture_on_commit_callbacks
):
    invoice = InvoiceFactory(
        organization=org_a, source_type="crm", status="needs_attention", stage="validated"
    )
    row = CRMDealFactory(connection=connection_a, invoice=invoice, status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/crm/deals/{row.pk}/retry/", follow=True)

    assert _messages(response) == ["Queued; this page shows the outcome when it is done."]
    assert [name for name, _, _ in queued] == ["invoices.advance"]
    invoice.refresh_from_db()
    assert invoice.status == "validated"


def test_retrying_an_invoice_on_its_way_does_nothing(client_a, org_a, connection_a, queued):
    invoice = InvoiceFactory(organization=org_a, source_type="crm", signed=True)
    row = CRMDealFactory(connection=connection_a, invoice=invoice, status="invoiced")
    response = client_a.post(f"/crm/deals/{row.pk}/retry/", follow=True)
    assert _messages(response) == ["Nothing to do: not won, or its invoice is on its way or done."]
    assert queued == []
    assert Invoice.objects.get(pk=invoice.pk).status == invoice.status


def test_deals_show_their_stage_and_pipeline_by_name_once_read(client_a, connection_a):
    deal = CRMDealFactory(connection=connection_a, deal_stage="closedwon", pipeline_id="default")
    unnamed = client_a.get("/crm/deals/").content.decode()
    assert "Closed Won" not in unnamed and "closedwon" in unnamed

    CRMConnection.objects.filter(pk=connection_a.pk).update(
        stage_labels={"closedwon": "Closed Won"}, pipeline_labels={"default": "Sales Pipeline"}
    )

    for url in ("/crm/deals/", f"/crm/deals/{deal.pk}/"):
        page = client_a.get(url).content.decode()
        assert 'Closed Won <span class="muted mono">closedwon</span>' in page, url
    detail = client_a.get(f"/crm/deals/{deal.pk}/").content.decode()
    assert 'Sales Pipeline <span class="muted mono">default</span>' in detail
