"""Stored events and syncs become deals and signed invoices: the task bodies, run in-process
against the HubSpot and FIRS sandboxes over real HTTP (live_server)."""

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone

from integrations.base import connections, pipeline
from integrations.base.errors import RateLimited
from integrations.base.events import RetryLater
from integrations.base.models import InboundEvent, SyncRun
from integrations.base.tasks import family_tasks
from integrations.crm import services
from integrations.crm.hubspot import connector as hubspot_connector
from integrations.crm.hubspot.client import HubSpotClient
from integrations.crm.models import CRMConnection, CRMDeal
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice, InvoiceLine, InvoiceParty
from invoices.tasks import invoice_advance
from sandboxes.firs.server import FAULTS_CACHE_KEY
from sandboxes.hubspot import api as hubspot_api
from sandboxes.hubspot import server as hubspot_sandbox
from sandboxes.hubspot.models import HubSpotSandboxAccessToken, HubSpotSandboxPortal
from sandboxes.hubspot.server import sandbox_portal_create
from tests.factories import MembershipFactory
from tests.integrations.crm.support import (
    BUYER_TIN,
    deal_event,
    deal_move,
    hubspot_connection,
    portal_of,
    sandbox_deal,
    signed,
    stored,
)
from tests.invoices.pipeline_support import sandbox_organization

backfill_task = family_tasks("crm").backfill
deal_invoice_task = family_tasks("crm").invoice_source
event_process_task = family_tasks("crm").process_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(live_server):
    cache.clear()
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    return hubspot_connection(site_url=live_server.url)


@pytest.fixture
def published(monkeypatch):
    """Tasks handed to a queue, by name and queue (the publish itself is not under test)."""
    sent = []
    for task in (event_process_task, deal_invoice_task, invoice_advance):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, task=task: sent.append(
                (task.name, kwargs, queue)
            ),
        )
    return sent


def _process(event, token="task-1"):
    status = pipeline.event_process(family="crm", event_id=event.pk, claim_token=token)
    event.refresh_from_db()
    return status


def _deal_row() -> CRMDeal:
    return CRMDeal.objects.select_related("invoice").get()


def test_a_deal_won_in_hubspot_becomes_a_signed_b2b_invoice(connection):
    deal = sandbox_deal(connection)
    event = deal_move(connection, deal, "closedwon")
    # Delivered as HubSpot would: signed v3, over HTTP, stored before the 2xx.
    body, headers = signed(connection, [event])
    response = requests.post(connection.webhook_url, data=body, headers=headers, timeout=10)
    assert response.json() == {"stored": 1, "duplicates": 0}

    assert _process(InboundEvent.objects.get()) == "processed"

    row = _deal_row()
    invoice = row.invoice
    assert (row.external_deal_id, row.status, row.is_won) == (str(deal.pk), "invoiced", True)
    assert row.deal_amount == Decimal("530000.00")
    assert (row.buyer_tin, row.deal_stage, row.pipeline_id) == (BUYER_TIN, "closedwon", "default")
    assert invoice.status == Invoice.Status.CONFIRMED
    assert invoice.kind == Invoice.Kind.B2B
    assert (invoice.source_type, invoice.source_platform) == ("crm", "hubspot")
    # HubSpot prices exclude VAT: 7.5 % goes on top.
    assert invoice.payable_amount == Decimal("569750.00")
    customer = InvoiceParty.objects.get(invoice=invoice, role="customer")
    assert (customer.tin, customer.name) == (BUYER_TIN, "Savannah Agro-Allied Processors Limited")
    assert list(
        InvoiceLine.objects.filter(invoice=invoice)
        .order_by("position")
        .values_list("name", "quantity", "price_amount")
    ) == [
        ("POS terminal", Decimal("2"), Decimal("240000.00")),
        ("Installation service", Decimal("1"), Decimal("50000.00")),
    ]
    assert row.received_at == invoice.source_received_at
    assert row.received_at <= row.invoiced_at <= row.signed_at == invoice.signed_at


def test_a_deal_created_open_is_recorded_not_won_until_it_is_won(connection):
    deal = sandbox_deal(connection)
    assert _process(stored(connection, deal_event(connection, deal, "deal.creation"))) == (
        "processed"
    )
    row = _deal_row()
    assert (row.status, row.is_won, row.invoice) == ("not_won", False, None)
    assert row.line_items == []

    _process(stored(connection, deal_move(connection, deal, "closedwon")))

    row = _deal_row()
    assert row.status == "invoiced" and len(row.line_items) == 2
    assert row.invoice.status == Invoice.Status.CONFIRMED


def test_back_and_forth_and_webhook_plus_sync_give_one_invoice(connection, published):
    deal = sandbox_deal(connection)
    for number, stage in enumerate(["closedwon", "contractsent", "closedwon", "closedlost"]):
        _process(stored(connection, deal_move(connection, deal, stage)), token=f"task-{number}")
    # The same deal won again (and renamed), then found by a sync as well.
    _process(stored(connection, deal_move(connection, deal, "closedwon")), token="task-9")
    hubspot_sandbox.sandbox_object_update(
        portal=portal_of(connection),
        object_type="deals",
        object_id=str(deal.pk),
        body={"properties": {"dealname": "Renamed after invoicing"}},
    )
    assert pipeline.connection_sync(family="crm", connection_id=connection.pk) == "synced"

    row = _deal_row()
    assert Invoice.objects.count() == 1 and CRMDeal.objects.count() == 1
    assert row.invoice.status == Invoice.Status.CONFIRMED
    # Once invoiced, later versions of the deal do not change the row.
    assert (row.status, row.deal_title) == ("invoiced", "Savannah Agro - POS roll-out")


def test_events_about_an_invoiced_deal_are_settled_without_asking_hubspot(connection, monkeypatch):
    deal = sandbox_deal(connection)
    _process(stored(connection, deal_move(connection, deal, "closedwon")))
    fetched = []
    fetch = HubSpotClient.deal
    monkeypatch.setattr(
        HubSpotClient,
        "deal",
        lambda self, deal_id, **kwargs: fetched.append(deal_id) or fetch(self, deal_id, **kwargs),
    )

    event = stored(connection, deal_move(connection, deal, "contractsent"))

    assert _process(event, token="task-2") == "processed"
    assert fetched == []
    assert _deal_row().deal_stage == "closedwon"


def test_a_deals_stage_moves_waiting_together_cost_one_fetch(connection, monkeypatch):
    deal = sandbox_deal(connection)
    fetched = []
    fetch = HubSpotClient.deal
    monkeypatch.setattr(
        HubSpotClient,
        "deal",
        lambda self, deal_id, **kwargs: fetched.append(deal_id) or fetch(self, deal_id, **kwargs),
    )
    # A burst: the deal moved twice before either event was processed.
    earlier = stored(connection, deal_move(connection, deal, "contractsent"))
    later = stored(connection, deal_move(connection, deal, "closedwon"))

    assert _process(earlier, token="task-1") == "processed"
    assert fetched == []
    assert _process(later, token="task-2") == "processed"

    assert fetched == [str(deal.pk)]
    row = _deal_row()
    assert row.deal_stage == "closedwon" and row.invoice.status == Invoice.Status.CONFIRMED


def test_a_deal_the_sync_finds_first_is_not_invoiced_again_by_its_webhook(connection, published):
    deal = sandbox_deal(connection, stage="closedwon")

    assert pipeline.connection_sync(family="crm", connection_id=connection.pk) == "synced"
    row = _deal_row()
    assert row.invoice is not None
    assert [name for name, _, queue in published] == ["invoices.advance"]
    assert published[0][2] == "standard"

    _process(stored(connection, deal_event(connection, deal, "deal.creation")))
    assert Invoice.objects.count() == 1
    assert _deal_row().invoice_id == row.invoice_id


def test_the_sync_searches_again_from_the_last_change_past_the_result_cap(
    connection, published, monkeypatch
):
    """Lowered to 4 results per search (the sandbox's own cap) and 2 per page."""
    for module in (hubspot_sandbox, hubspot_connector):
        monkeypatch.setattr(module, "SEARCH_RESULT_CAP", 4)
    monkeypatch.setattr(hubspot_connector, "SEARCH_PAGE_SIZE", 2)
    searches = []
    search = HubSpotClient.deals_search
    monkeypatch.setattr(
        HubSpotClient,
        "deals_search",
        lambda self, body: searches.append(body) or search(self, body),
    )
    deals = [
        sandbox_deal(connection, stage="closedwon", lines=(("Support", "1000.00", "1"),))
        for _ in range(9)
    ]

    assert pipeline.connection_sync(family="crm", connection_id=connection.pk) == "synced"

    recorded = set(CRMDeal.objects.values_list("external_deal_id", flat=True))
    assert recorded == {str(deal.pk) for deal in deals}
    assert Invoice.objects.count() == 9
    anchors = [body["filterGroups"][0]["filters"][0]["value"] for body in searches]
    assert max(int(body["after"]) for body in searches) < 4
    assert len(set(anchors)) >= 3, anchors
    connection.refresh_from_db()
    assert connection.last_sync_at is not None and connection.sync_cursor


def test_a_rate_limited_answer_is_waited_out_as_retry_after_says(connection):
    hubspot_api.sandbox_faults_set(
        portal=portal_of(connection), changes={"rate_limit_rate": 1.0, "retry_after_seconds": 7}
    )
    event = stored(connection, deal_move(connection, sandbox_deal(connection), "closedwon"))

    with pytest.raises(RetryLater) as later:
        _process(event)
    # The pause runs from the answer, so a moment of it has passed by the time it is read.
    assert 6 < later.value.delay <= 7
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)

    # Until then no call leaves for that account, even once HubSpot would answer again.
    hubspot_api.sandbox_faults_reset(portal=portal_of(connection))
    with pytest.raises(RetryLater) as again:
        _process(event)
    assert 0 < again.value.delay <= later.value.delay


def test_a_spent_budget_holds_calls_back_before_hubspot_refuses_them(connection, monkeypatch):
    HubSpotSandboxPortal.objects.filter(hub_id=int(connection.account_id)).update(
        ten_secondly_limit=1
    )
    client = HubSpotClient(
        base_url=connection.base_url,
        account=connection.account_id,
        access_token=portal_of(connection).private_app_token,
    )
    calls = []
    send = requests.Session.request
    monkeypatch.setattr(
        requests.Session, "request", lambda self, *a, **k: calls.append(a) or send(self, *a, **k)
    )

    client.pipelines()  # answers X-HubSpot-RateLimit-Remaining: 0
    with pytest.raises(RateLimited) as held:
        client.pipelines()

    assert len(calls) == 1
    assert held.value.retry_after > client.max_sleep_seconds


def test_rate_limits_never_use_up_an_events_attempts(connection, settings):
    settings.INTEGRATIONS_MAX_ATTEMPTS = 1
    hubspot_api.sandbox_faults_set(
        portal=portal_of(connection), changes={"rate_limit_rate": 1.0, "retry_after_seconds": 3}
    )
    event = stored(connection, deal_move(connection, sandbox_deal(connection), "closedwon"))

    with pytest.raises(RetryLater):
        _process(event)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)


def test_a_private_app_token_is_used_as_it_is_and_never_refreshed(connection):
    assert set(json.loads(connection.credentials_encrypted)) == {"private_app_token"}
    assert connection.token_expires_at is None

    assert connections.connection_tokens_refresh(connection=connection, force=True) is False
    pipeline.connection_test(connection=connection)
    connection.refresh_from_db()
    assert connection.health == "connected"


def test_an_unreadable_deal_fails_its_event_but_not_the_connection(connection):
    deal = sandbox_deal(connection)
    hubspot_sandbox.sandbox_object_create(
        portal=portal_of(connection),
        object_type="line_items",
        body={
            "properties": {
                "name": "Dollar item",
                "price": "10",
                "hs_line_item_currency_code": "USD",
            },
            "associations": [
                {
                    "to": {"id": str(deal.pk)},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 20}],
                }
            ],
        },
    )
    event = stored(connection, deal_move(connection, deal, "closedwon"))

    assert _process(event) == "failed"
    assert "USD" in event.error
    connection.refresh_from_db()
    assert connection.health == "connected"


def test_a_backfill_records_the_won_deals_of_its_window_on_the_batch_queue(
    connection, published, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        backfill_task, "apply_async", lambda *, kwargs, queue: queued.append((kwargs, queue))
    )
    start = timezone.now() - timedelta(seconds=1)
    won = sandbox_deal(connection, stage="closedwon")
    sandbox_deal(connection)  # open: not pulled
    run = pipeline.backfill_start(
        connection=connection, start=start, end=timezone.now() + timedelta(seconds=1)
    )
    assert queued == [({"sync_run_id": str(run.pk)}, "batch")]

    assert pipeline.backfill_run(sync_run_id=run.pk) == SyncRun.Status.SUCCEEDED

    run.refresh_from_db()
    assert (run.status, run.rows, run.errors, run.pages) == ("succeeded", 1, 0, 1)
    row = _deal_row()
    assert row.external_deal_id == str(won.pk)
    assert row.invoice.pipeline_queue == "batch"
    assert published == [("invoices.advance", {"invoice_id": row.invoice_id}, "batch")]


def test_connecting_through_oauth_refreshes_the_30_minute_token_before_it_expires(
    live_server, settings
):
    portal = sandbox_portal_create(
        redirect_uri=f"{live_server.url}/integrations/oauth/crm/hubspot/callback/"
    )
    settings.PLATFORM_APPS = {
        **settings.PLATFORM_APPS,
        "hubspot": {
            **settings.PLATFORM_APPS["hubspot"],
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
        },
    }
    organization = sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    authorize_url = connections.oauth_start(
        family="crm",
        platform="hubspot",
        organization=organization,
        user=user,
        session_key="browser-session-1",
        redirect_uri=portal.redirect_uri,
        sandbox_base_url=f"{live_server.url}/sandbox/hubspot",
    )
    assert "code_challenge_method=S256" in authorize_url
    redirect = requests.get(authorize_url, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)

    connection = connections.oauth_complete(
        family="crm",
        platform="hubspot",
        state=query["state"][0],
        code=query["code"][0],
        session_key="browser-session-1",
        site_url=live_server.url,
    )

    assert connection.account_id == str(portal.hub_id)
    lifetime = connection.token_expires_at - timezone.now()
    assert timedelta(minutes=29) < lifetime <= timedelta(minutes=30)
    assert services.connection_won_stages_default(connection=connection) == ["closedwon"]
    first_token = json.loads(connection.credentials_encrypted)["access_token"]

    # More than the 5-minute margin left: used as it is.
    pipeline.connection_test(connection=connection)
    connection.refresh_from_db()
    assert json.loads(connection.credentials_encrypted)["access_token"] == first_token

    CRMConnection.objects.filter(pk=connection.pk).update(
        token_expires_at=timezone.now() + timedelta(minutes=4)
    )
    connection.refresh_from_db()
    pipeline.connection_test(connection=connection)
    connection.refresh_from_db()
    assert json.loads(connection.credentials_encrypted)["access_token"] != first_token
    assert connection.token_expires_at - timezone.now() > timedelta(minutes=29)

    # Disconnecting revokes the grant at HubSpot.
    connections.connection_disconnect(connection=connection)
    grant_tokens = HubSpotSandboxAccessToken.objects.filter(account=portal)
    assert grant_tokens.exists()
    assert not grant_tokens.filter(revoked_at__isnull=True).exists()


def test_a_sync_is_recorded_as_an_incremental_run(connection, published):
    for _ in range(2):
        sandbox_deal(connection, stage="closedwon")

    assert pipeline.connection_sync(family="crm", connection_id=connection.pk) == "synced"

    run = SyncRun.objects.get()
    connection.refresh_from_db()
    assert (run.family, run.kind, run.status) == ("crm", "incremental", "succeeded")
    assert (run.pages, run.rows, run.errors) == (1, 2, 0)
    assert run.cursor == connection.sync_cursor
    assert run.started_at <= run.finished_at


def test_a_sync_that_cannot_reach_hubspot_is_a_failed_run_and_moves_nothing(connection):
    sandbox_deal(connection, stage="closedwon")
    CRMConnection.objects.filter(pk=connection.pk).update(
        base_url="http://127.0.0.1:9/sandbox/hubspot"
    )

    assert pipeline.connection_sync(family="crm", connection_id=connection.pk) == "failed"

    run = SyncRun.objects.get()
    assert (run.kind, run.status, run.errors, run.rows) == ("incremental", "failed", 1, 0)
    assert run.last_error and run.finished_at
    connection.refresh_from_db()
    assert connection.sync_cursor == "" and connection.last_sync_at is None
    assert not CRMDeal.objects.exists()


def test_the_stages_names_are_kept_for_the_pages_once_read(connection):
    # A sandbox connection comes with its won stages chosen: the first deal's preparation
    # still reads the names once; a failed read only leaves them unnamed.
    assert connection.won_stage_ids and connection.stage_labels == {}
    portal = portal_of(connection)
    HubSpotSandboxPortal.objects.filter(pk=portal.pk).update(ten_secondly_limit=0)
    assert services.connection_won_stages_default(connection=connection) == (
        connection.won_stage_ids
    )
    assert connection.stage_labels == {}

    HubSpotSandboxPortal.objects.filter(pk=portal.pk).update(ten_secondly_limit=100_000)
    cache.clear()
    services.connection_won_stages_default(connection=connection)

    connection.refresh_from_db()
    assert connection.pipeline_labels == {"default": "Sales Pipeline"}
    assert connection.stage_labels["closedwon"] == "Closed Won"
    deal = CRMDeal(connection=connection, deal_stage="closedwon", pipeline_id="default")
    assert (deal.stage_label, deal.pipeline_label) == ("Closed Won", "Sales Pipeline")
