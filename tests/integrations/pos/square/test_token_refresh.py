"""A Square OAuth connection keeps working past its access token's 30 days: the token is
refreshed at the Square sandbox before the next call that needs it, once, under the
connection's row lock, and that call carries the new token (real HTTP, live_server)."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from integrations.base.models import InboundEvent
from integrations.pos.square.connector import SquareConnector
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from taxpoynt.celery import app as celery_app
from tests.integrations.base.support import row_locked_elsewhere
from tests.integrations.pos.support import completed_order, order_event, square_connection

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "https://app.taxpoynt.test/integrations/oauth/pos/square/callback/"


def _authorized_code(connection) -> str:
    """The seller approves our app at the sandbox (as a browser would), which answers a code."""
    query = {
        "client_id": settings.PLATFORM_APPS["square"]["client_id"],
        "scope": " ".join(SquareConnector.scopes),
        "redirect_uri": REDIRECT_URI,
        "state": "state-1",
        "merchant_id": connection.account_id,
    }
    redirect = requests.get(
        f"{connection.base_url}/oauth2/authorize?{urlencode(query)}",
        allow_redirects=False,
        timeout=10,
    )
    assert redirect.status_code == 302, redirect.text
    return parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]


@pytest.fixture
def oauth_connection(live_server):
    """A Square connection holding OAuth tokens from the sandbox, whose access token is due to
    expire within the hour."""
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    connection = square_connection(site_url=live_server.url)
    tokens = SquareConnector(connection).tokens_from_code(
        code=_authorized_code(connection), redirect_uri=REDIRECT_URI
    )
    assert tokens.refresh_token and tokens.account_id == connection.account_id
    connection.credentials_encrypted = json.dumps(
        {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    )
    connection.token_expires_at = timezone.now() + timedelta(hours=1)
    connection.save(update_fields=["credentials_encrypted", "token_expires_at"])
    return connection


@pytest.fixture
def square_calls(monkeypatch, oauth_connection):
    """Every HTTP request to the Square sandbox, in order: (method, path, bearer token or "",
    whether the connection's row was locked by another session meanwhile)."""
    calls = []
    send = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        path = urlsplit(url).path
        if "/sandbox/square/" in path:
            locked = row_locked_elsewhere(table="pos_connections", pk=oauth_connection.pk)
            bearer = (kwargs.get("headers") or {}).get("Authorization", "")
            calls.append((method, path.split("/sandbox/square")[1], bearer, locked))
        return send(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    return calls


def _stored(connection, order, *, event_id=""):
    envelope = order_event(connection, order, event_id=event_id)
    return InboundEvent.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        event_id=envelope["event_id"],
        event_type=envelope["type"],
        object_id=envelope["data"]["id"],
        payload=envelope,
        received_at=timezone.now(),
    )


def test_a_token_about_to_expire_is_refreshed_once_under_the_lock_before_the_order_fetch(
    oauth_connection, square_calls
):
    connection = oauth_connection
    old = json.loads(connection.credentials_encrypted)
    # Orders made in the sandbox directly, not through the API: only our calls are counted.
    first = _stored(connection, completed_order(connection))
    second = _stored(connection, completed_order(connection))
    process = celery_app.tasks["pos.process_event"]

    process.apply(kwargs={"event_id": first.pk}, task_id="task-1")
    process.apply(kwargs={"event_id": second.pk}, task_id="task-2")

    connection.refresh_from_db()
    new = json.loads(connection.credentials_encrypted)
    assert new["access_token"] != old["access_token"]
    # Square's code flow keeps the refresh token: it is the same one.
    assert new["refresh_token"] == old["refresh_token"]
    assert connection.token_expires_at > timezone.now() + timedelta(days=29)
    assert [call[1] for call in square_calls].count("/oauth2/token") == 1
    # The refresh came first, with the connection's row locked; every API call then carried
    # the new token.
    assert square_calls[0][:2] == ("POST", "/oauth2/token") and square_calls[0][3] is True
    api_calls = [call for call in square_calls if call[1].startswith("/v2/")]
    assert api_calls
    assert {call[2] for call in api_calls} == {f"Bearer {new['access_token']}"}
    assert Invoice.objects.filter(status=Invoice.Status.CONFIRMED).count() == 2
