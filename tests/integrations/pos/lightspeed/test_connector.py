"""The Lightspeed connector: OAuth on the store's own host (the callback's domain_prefix, form
bodies, refresh under the lock with the rotated refresh token stored), the rate limits (a 429's
HTTP-date Retry-After holds every call back until that date), the webhook subscription made on
connect and removed on disconnect, the closed/layby/void rules and the version-cursor poll."""

import email.utils
import json
import math
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache
from django.utils import timezone

from integrations.base import connections
from integrations.base.canonical import SaleKind
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import ConnectorError, RateLimited
from integrations.pos.lightspeed.client import LightspeedClient
from integrations.pos.lightspeed.connector import LightspeedConnector
from integrations.pos.models import POSConnection
from sandboxes.lightspeed.models import LightspeedSandboxSale, LightspeedSandboxWebhook
from sandboxes.lightspeed.server import sandbox_sale_save
from tests.factories import MembershipFactory
from tests.integrations.pos.lightspeed.support import (
    closed_sale,
    lightspeed_connection,
    sample,
    store_of,
)

STORE = "https://acme.retail.lightspeed.app"
CALLBACK = "https://app.taxpoynt.test/integrations/oauth/pos/lightspeed/callback/"


def _real_connection(**fields) -> POSConnection:
    owner = MembershipFactory(role="owner")
    return POSConnection.objects.create(
        pos_type="lightspeed",
        organization=owner.organization,
        user=owner.user,
        account_id="acme",
        webhook_secret="",
        **fields,
    )


# --- OAuth --------------------------------------------------------------------------------------


def test_the_authorize_url_is_lightspeeds_consent_page_without_scopes(db):
    url = LightspeedConnector(POSConnection(pos_type="lightspeed")).authorization_url(
        state="s1", redirect_uri=CALLBACK
    )

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://secure.retail.lightspeed.app/connect"
    )
    assert query["response_type"] == ["code"] and query["state"] == ["s1"]
    assert query["redirect_uri"] == [CALLBACK] and "scope" not in query


@responses.activate
def test_the_code_is_exchanged_as_a_form_on_the_store_named_by_the_callback(db):
    responses.post(
        f"{STORE}/api/1.0/token",
        json={
            "access_token": "at-1",
            "token_type": "Bearer",
            "expires": 1796500000,
            "expires_in": 86400,
            "refresh_token": "rt-1",
        },
    )
    connector = LightspeedConnector(POSConnection(pos_type="lightspeed"))

    tokens = connector.tokens_from_code(
        code="c1",
        redirect_uri=CALLBACK,
        callback={"code": "c1", "state": "s", "domain_prefix": "acme"},
    )

    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body) == {
        "grant_type": ["authorization_code"],
        "code": ["c1"],
        "redirect_uri": [CALLBACK],
        "client_id": ["sandbox-lightspeed-taxpoynt"],
        "client_secret": ["sandbox-lightspeed-secret"],
    }
    assert tokens.account_id == "acme" and tokens.extra == {"domain_prefix": "acme"}
    assert tokens.access_token == "at-1" and tokens.refresh_token == "rt-1"
    lifetime = tokens.expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)


@pytest.mark.parametrize("prefix", ["", "evil.example/x", "a.b", "-acme", "ACME", "x" * 64, None])
@responses.activate
def test_a_callback_naming_no_usable_store_sends_the_secret_nowhere(db, prefix):
    callback = {"code": "c1"} if prefix is None else {"code": "c1", "domain_prefix": prefix}

    with pytest.raises(ConnectorError):
        LightspeedConnector(POSConnection(pos_type="lightspeed")).tokens_from_code(
            code="c1", redirect_uri=CALLBACK, callback=callback
        )

    assert len(responses.calls) == 0


@responses.activate
def test_a_stored_refresh_goes_to_the_store_under_the_lock_and_keeps_the_rotated_token(db):
    responses.post(
        f"{STORE}/api/1.0/token",
        json={"access_token": "at-2", "expires_in": 86400, "refresh_token": "rt-2"},
    )
    connection = _real_connection(
        credentials_encrypted=json.dumps(
            {"access_token": "at-1", "refresh_token": "rt-1", "domain_prefix": "acme"}
        ),
        token_expires_at=timezone.now() + timedelta(minutes=30),
    )

    assert connections.connection_tokens_refresh(connection=connection) is True
    assert connections.connection_tokens_refresh(connection=connection) is False

    assert len(responses.calls) == 1
    assert parse_qs(responses.calls[0].request.body)["refresh_token"] == ["rt-1"]
    connection.refresh_from_db()
    stored = json.loads(connection.credentials_encrypted)
    assert stored == {
        "domain_prefix": "acme",
        "access_token": "at-2",
        "refresh_token": "rt-2",
        "expires_at": stored["expires_at"],
    }
    assert connection.token_expires_at > timezone.now() + timedelta(hours=23)
    assert LightspeedConnector(connection).base_url == STORE


@responses.activate
def test_a_refresh_answering_no_refresh_token_keeps_the_one_stored(db):
    responses.post(f"{STORE}/api/1.0/token", json={"access_token": "at-2", "expires_in": 86400})
    connection = _real_connection(
        credentials_encrypted=json.dumps(
            {"access_token": "at-1", "refresh_token": "rt-1", "domain_prefix": "acme"}
        ),
        token_expires_at=timezone.now(),
    )

    connections.connection_tokens_refresh(connection=connection)

    connection.refresh_from_db()
    assert json.loads(connection.credentials_encrypted)["refresh_token"] == "rt-1"


# --- rate limits --------------------------------------------------------------------------------


def _client() -> LightspeedClient:
    cache.clear()
    return LightspeedClient(base_url=STORE, account="acme", access_token="at")


@responses.activate
def test_a_429s_http_date_holds_every_call_back_until_that_date():
    retry_at = math.ceil(time.time()) + 2
    responses.get(
        f"{STORE}/api/2.0/retailer",
        status=429,
        json={"error": "Too Many Requests", "message": "Rate limiting enforced"},
        headers={"Retry-After": email.utils.formatdate(retry_at, usegmt=True)},
    )
    sent_at = []

    def answered(request):
        sent_at.append(time.time())
        return 200, {}, json.dumps({"data": {"id": "r1"}})

    responses.add_callback(responses.GET, f"{STORE}/api/2.0/retailer", callback=answered)
    client = _client()
    # Long enough to sleep through this pause in the calling thread instead of refusing.
    client.max_sleep_seconds = 5.0

    with pytest.raises(RateLimited) as refused:
        client.retailer()
    assert 1 <= refused.value.retry_after <= 3
    answer = client.retailer()

    assert answer == {"id": "r1"} and len(responses.calls) == 2
    # The next request was sent at the date the 429 named, not before.
    assert sent_at[0] >= retry_at


@responses.activate
def test_a_call_before_a_long_retry_after_date_is_refused_without_being_sent():
    responses.get(
        f"{STORE}/api/2.0/retailer",
        status=429,
        json={"error": "Too Many Requests"},
        headers={"Retry-After": email.utils.formatdate(time.time() + 120, usegmt=True)},
    )
    client = _client()
    with pytest.raises(RateLimited):
        client.retailer()

    with pytest.raises(RateLimited) as held:
        client.sale("0a6f1e2d-3c4b-11ef-f3a1-8e3c2b1a0d9f")

    assert len(responses.calls) == 1
    assert held.value.status is None and 100 < held.value.retry_after <= 120


@responses.activate
def test_a_spent_budget_pauses_the_store_for_the_window():
    responses.get(
        f"{STORE}/api/2.0/retailer",
        json={"data": {"id": "r1"}},
        headers={"X-RateLimit-Limit": "350", "X-RateLimit-Remaining": "0"},
    )
    client = _client()
    client.retailer()

    with pytest.raises(RateLimited) as held:
        client.retailer()

    assert len(responses.calls) == 1 and held.value.retry_after > 290


# --- the sandbox store --------------------------------------------------------------------------

live_db = pytest.mark.django_db(transaction=True)


@live_db
def test_connecting_subscribes_one_webhook_and_disconnecting_removes_it(live_server):
    connection = lightspeed_connection(site_url=live_server.url)
    store = store_of(connection)
    LightspeedSandboxWebhook.objects.filter(store=store).delete()
    connector = LightspeedConnector(connection)

    connector.webhooks_subscribe()
    connector.webhooks_subscribe()

    hooks = LightspeedSandboxWebhook.objects.filter(store=store)
    assert [(hook.url, hook.type, hook.active) for hook in hooks] == [
        (connection.webhook_url, "sale.update", True)
    ]
    connection.refresh_from_db()
    assert connection.webhook_secret == "sandbox-lightspeed-secret"
    connections.connection_disconnect(connection=connection)
    assert not LightspeedSandboxWebhook.objects.filter(store=store).exists()


def _event(sale_row, *, status: str = "") -> WebhookEvent:
    status = status or sale_row.status
    return WebhookEvent(
        event_id=f"{sale_row.sale_id}:x:{status}",
        event_type="sale.update",
        account_id="",
        object_id=sale_row.sale_id,
        payload={"payload": {"id": sale_row.sale_id, "status": status}},
    )


@live_db
def test_an_open_layby_is_ignored_and_its_closing_invoiced(live_server):
    connection = lightspeed_connection(site_url=live_server.url)
    layby = closed_sale(connection, status="LAYBY")
    opened = _event(layby)
    closed = sandbox_sale_save(
        store=store_of(connection),
        body={"id": layby.sale_id, "status": "LAYBY_CLOSED"},
        notify=False,
    )

    assert LightspeedConnector.event_needs_processing(opened) is False
    assert LightspeedConnector.event_needs_processing(_event(closed)) is True
    [sale] = LightspeedConnector(connection).sales_for_event(_event(closed))
    assert sale.kind == SaleKind.SALE and sale.raw["status"] == "LAYBY_CLOSED"
    assert sale.raw["register_id"] and sale.location_id == connection.external_location_id


@live_db
def test_a_void_credits_only_a_sale_that_was_closed(live_server):
    connection = lightspeed_connection(site_url=live_server.url)
    store = store_of(connection)
    connector = LightspeedConnector(connection)
    layby = closed_sale(connection, status="LAYBY")
    sandbox_sale_save(store=store, body={"id": layby.sale_id, "status": "VOIDED"}, notify=False)
    sale = closed_sale(connection)
    voided = sandbox_sale_save(
        store=store, body={"id": sale.sale_id, "status": "VOIDED"}, notify=False
    )

    # A layby voided before it closed made no invoice: nothing to credit.
    assert connector.sales_for_event(_event(layby, status="VOIDED")) == []
    assert connector.sales_for_event(_event(voided)) == []
    # The sale's own CLOSED delivery, read after the void: the sale and its credit.
    invoiced, credit = connector.sales_for_event(_event(voided, status="CLOSED"))
    assert invoiced.external_id == sale.sale_id and invoiced.kind == SaleKind.SALE
    assert credit.kind == SaleKind.REFUND and credit.original_external_id == sale.sale_id
    assert credit.total == invoiced.total > 0


@live_db
def test_the_poll_pages_by_version_and_skips_what_changed_before_its_start(
    live_server, monkeypatch
):
    monkeypatch.setattr(LightspeedConnector, "sales_page_size", 2)
    connection = lightspeed_connection(site_url=live_server.url)
    old = closed_sale(connection)
    # Changed before the poll's start (an hour ago): read past, never recorded.
    earlier = (timezone.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    LightspeedSandboxSale.objects.filter(pk=old.pk).update(data={**old.data, "updated_at": earlier})
    start = timezone.now()
    new = [closed_sale(connection) for _ in range(3)]
    connector = LightspeedConnector(connection)

    seen, cursor, pages = [], "", 0
    while True:
        page = connector.sales_changes_page(modified_after=start, cursor=cursor)
        seen += [sale.external_id for sale in page.sales]
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            break

    assert seen == [row.sale_id for row in new] and old.sale_id not in seen
    assert pages == 3 and int(cursor) == max(row.version for row in new)
    again = connector.sales_changes_page(modified_after=start, cursor=cursor)
    assert again.sales == [] and again.cursor == cursor and not again.has_more


@live_db
def test_connecting_through_the_callback_names_the_store_and_subscribes_our_webhook(
    live_server, client
):
    owner = MembershipFactory(role="owner")
    client.force_login(owner.user)
    callback = f"{live_server.url}/integrations/oauth/pos/lightspeed/callback/"
    url = connections.oauth_start(
        family="pos",
        platform="lightspeed",
        organization=owner.organization,
        user=owner.user,
        session_key=client.session.session_key,
        redirect_uri=callback,
        sandbox_base_url=f"{live_server.url}/sandbox/lightspeed",
    )
    consent = requests.get(url, allow_redirects=False, timeout=10)
    back = urlsplit(consent.headers["Location"])
    assert set(parse_qs(back.query)) == {"code", "state", "domain_prefix"}

    response = client.get(f"{back.path}?{back.query}")

    assert response.status_code == 200
    connection = POSConnection.objects.get(organization=owner.organization, pos_type="lightspeed")
    prefix = parse_qs(back.query)["domain_prefix"][0]
    assert connection.account_id == prefix and connection.last_error == ""
    assert json.loads(connection.credentials_encrypted)["domain_prefix"] == prefix
    assert connection.token_expires_at > timezone.now() + timedelta(hours=23)
    assert connection.sync_every_minutes == 1
    hooks = LightspeedSandboxWebhook.objects.filter(store__domain_prefix=prefix)
    assert [(hook.url, hook.client_id) for hook in hooks] == [
        (connection.webhook_url, "sandbox-lightspeed-taxpoynt")
    ]

    connections.connection_disconnect(connection=connection)

    connection.refresh_from_db()
    assert connection.credentials_encrypted == "" and connection.last_error == ""
    assert not LightspeedSandboxWebhook.objects.filter(store__domain_prefix=prefix).exists()


@responses.activate
def test_the_sample_version_page_moves_the_cursor_to_its_max(db):
    cache.clear()
    page = sample("xseries-api2-sales-page-with-version-cursor.json")
    responses.get(f"{STORE}/api/2.0/sales", json=json.loads(json.dumps(page, default=float)))
    for path in ("outlets", "taxes"):
        responses.get(f"{STORE}/api/2.0/{path}", json={"data": []})
    responses.get(re.compile(f"{STORE}/api/2.0/customers/.*"), status=404, json={"error": "x"})
    connection = _real_connection(
        credentials_encrypted=json.dumps({"access_token": "at", "domain_prefix": "acme"})
    )

    answer = LightspeedConnector(connection).sales_changes_page(
        modified_after=timezone.now() - timedelta(days=3650), cursor="10236641000"
    )

    assert parse_qs(urlsplit(responses.calls[0].request.url).query) == {
        "after": ["10236641000"],
        "page_size": ["200"],
    }
    assert answer.cursor == "10236641121" and answer.records == 1 and not answer.has_more
    # The constructed sample lists the sale without its lines: it is reported, not invoiced.
    assert answer.sales == [] and "no line items" in answer.problems[0]
