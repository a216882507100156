"""What is Pipedrive's own in its connector: the company's api_domain (checked, kept with the
tokens, replaced on refresh, where calls go), our webhook subscription made and removed through
the API, archived deals pulled too, and Pipedrive's edge throttling read as a rate limit."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.utils import timezone

from integrations.base import connections
from integrations.base.connectors import TokenSet, WebhookEvent
from integrations.base.errors import AuthenticationError, RateLimited
from integrations.crm.models import CRMConnection
from integrations.crm.pipedrive.connector import IRN_NOTE, PipedriveConnector
from integrations.crm.pipedrive.oauth import api_domain_checked
from integrations.crm.pipedrive.signatures import webhook_password
from sandboxes.pipedrive.models import PipedriveSandboxRecord, PipedriveSandboxWebhook
from sandboxes.pipedrive.server import deal_update, sandbox_company_create
from tests.factories import MembershipFactory
from tests.integrations.crm.pipedrive.support import (
    company_of,
    deal_event,
    delivery_headers,
    pipedrive_connection,
    sample,
    sandbox_deal,
)

OAUTH = "https://oauth.pipedrive.com/oauth/token"
SANDBOX_OAUTH = "http://127.0.0.1:8000/sandbox/pipedrive/oauth/token"


@pytest.mark.parametrize(
    ("api_domain", "issuer", "kept"),
    [
        ("https://acme.pipedrive.com", OAUTH, "https://acme.pipedrive.com"),
        ("https://acme.pipedrive.com/", OAUTH, "https://acme.pipedrive.com"),
        ("http://acme.pipedrive.com", OAUTH, ""),
        ("https://acme.pipedrive.com.evil.example", OAUTH, ""),
        ("https://evilpipedrive.com", OAUTH, ""),
        ("https://acme.pipedrive.com:8443", OAUTH, ""),
        ("https://user:pw@acme.pipedrive.com", OAUTH, ""),
        (
            "http://127.0.0.1:8000/sandbox/pipedrive",
            SANDBOX_OAUTH,
            "http://127.0.0.1:8000/sandbox/pipedrive",
        ),
        ("http://127.0.0.1:9999/sandbox/pipedrive", SANDBOX_OAUTH, ""),
        (None, OAUTH, ""),
        (42, OAUTH, ""),
    ],
)
def test_only_a_company_host_or_the_issuing_sandbox_is_an_api_domain(api_domain, issuer, kept):
    assert api_domain_checked(api_domain, oauth_url=issuer) == kept


def test_a_token_answer_without_a_usable_api_domain_is_refused():
    connector = PipedriveConnector(CRMConnection(crm_type="pipedrive"))
    answer = {"access_token": "a", "refresh_token": "r", "expires_in": 3599, "company_id": "7"}

    with pytest.raises(AuthenticationError, match="api_domain"):
        connector.oauth_tokens(
            {**answer, "api_domain": "https://evil.example"}, received_at=timezone.now()
        )
    tokens = connector.oauth_tokens(
        {**answer, "api_domain": "https://acme.pipedrive.com"}, received_at=timezone.now()
    )
    assert tokens.extra == {"api_domain": "https://acme.pipedrive.com"} and tokens.account_id == "7"


@responses.activate
@pytest.mark.django_db
def test_calls_go_to_the_api_domain_and_a_refresh_replaces_it(monkeypatch):
    owner = MembershipFactory(role="owner")
    connection = CRMConnection.objects.create(
        crm_type="pipedrive",
        organization=owner.organization,
        user=owner.user,
        account_id="7",
        credentials_encrypted=json.dumps(
            {
                "access_token": "old",
                "refresh_token": "r",
                "api_domain": "https://acme.pipedrive.com",
            }
        ),
        token_expires_at=timezone.now() + timedelta(seconds=10),
        webhook_secret="",
    )
    monkeypatch.setattr(
        PipedriveConnector,
        "tokens_refresh",
        lambda self, *, refresh_token: TokenSet(
            access_token="new",
            refresh_token=refresh_token,
            expires_at=timezone.now() + timedelta(hours=1),
            extra={"api_domain": "https://acme-eu.pipedrive.com"},
        ),
    )
    responses.add(responses.GET, "https://acme-eu.pipedrive.com/api/v1/users/me", json={"data": {}})

    connections.connector_for(connection).test_connection()

    stored = json.loads(CRMConnection.objects.get(pk=connection.pk).credentials_encrypted)
    assert stored == {
        **stored,
        "access_token": "new",
        "api_domain": "https://acme-eu.pipedrive.com",
    }
    assert responses.calls[0].request.headers["Authorization"] == "Bearer new"


@responses.activate
def test_an_html_403_from_pipedrives_edge_is_a_rate_limit_not_refused_credentials():
    connection = CRMConnection(
        crm_type="pipedrive",
        base_url="https://edge.example",
        account_id="edge-test",
        credentials_encrypted=json.dumps({"api_token": "personal"}),
    )
    responses.add(
        responses.GET,
        "https://edge.example/api/v1/users/me",
        status=403,
        body="<html>Attention required</html>",
        content_type="text/html",
    )

    with pytest.raises(RateLimited):
        PipedriveConnector(connection).test_connection()
    assert responses.calls[0].request.headers["x-api-token"] == "personal"


@pytest.mark.django_db(transaction=True)
def test_subscribing_makes_our_two_v2_deal_webhooks_once_and_disconnecting_removes_them(
    live_server,
):
    connection = pipedrive_connection(site_url=live_server.url)
    hooks = PipedriveSandboxWebhook.objects.filter(company=company_of(connection))
    hooks.delete()
    connector = PipedriveConnector(connection)

    connector.webhooks_subscribe()
    connector.webhooks_subscribe()

    password = webhook_password(secret=connection.webhook_secret, url=connection.notification_url)
    assert sorted(hooks.values_list("event_action", "event_object", "version")) == [
        ("change", "deal", "2.0"),
        ("create", "deal", "2.0"),
    ]
    assert {(hook.http_auth_user, hook.http_auth_password) for hook in hooks} == {
        ("taxpoynt", password)
    }

    connections.connection_disconnect(connection=connection)

    assert not hooks.all().exists()
    connection.refresh_from_db()
    assert (connection.is_active, connection.last_error) == (False, "")


@pytest.mark.django_db(transaction=True)
def test_a_pull_reads_archived_won_deals_as_well(live_server, monkeypatch):
    connection = pipedrive_connection(site_url=live_server.url)
    since = timezone.now() - timedelta(minutes=1)
    live = sandbox_deal(connection, seed=1, status="won")
    archived = sandbox_deal(connection, seed=2, status="won")
    company = company_of(connection)
    deal_update(company=company, deal_id=archived.pk, body={"is_archived": True}, announce=False)
    sandbox_deal(connection, seed=3)  # open: not pulled
    connector = PipedriveConnector(connection)

    seen, anchor, cursor = [], since, ""
    while True:
        page = connector.deals_page(modified_after=anchor, after_cursor=cursor)
        seen += [deal.external_id for deal in page.deals]
        if not page.has_more:
            break
        anchor, cursor = page.modified_after, page.after_cursor

    assert sorted(seen) == sorted([str(live.pk), str(archived.pk)])
    assert page.modified_after >= since


@pytest.mark.django_db(transaction=True)
def test_connecting_through_oauth_keeps_the_api_domain_and_subscribes_our_webhooks(
    live_server, settings
):
    owner = MembershipFactory(role="owner")
    callback = f"{live_server.url}/integrations/oauth/crm/pipedrive/callback/"
    company = sandbox_company_create(redirect_uri=callback)
    settings.PLATFORM_APPS = {
        **settings.PLATFORM_APPS,
        "pipedrive": {"client_id": company.client_id, "client_secret": company.client_secret},
    }
    sandbox = f"{live_server.url}/sandbox/pipedrive"
    url = connections.oauth_start(
        family="crm",
        platform="pipedrive",
        organization=owner.organization,
        user=owner.user,
        session_key="session-1",
        redirect_uri=callback,
        sandbox_base_url=sandbox,
    )
    consent = requests.get(url, allow_redirects=False, timeout=10)
    back = parse_qs(urlsplit(consent.headers["Location"]).query)

    connection = connections.oauth_complete(
        family="crm",
        platform="pipedrive",
        state=back["state"][0],
        code=back["code"][0],
        session_key="session-1",
        site_url=live_server.url,
    )

    assert connection.account_id == str(company.company_id) and connection.last_error == ""
    assert json.loads(connection.credentials_encrypted)["api_domain"] == sandbox
    connection.refresh_from_db()
    hooks = PipedriveSandboxWebhook.objects.filter(company=company)
    assert {hook.subscription_url for hook in hooks} == {connection.webhook_url}
    assert hooks.count() == 2 and connection.webhook_secret
    deal = sandbox_deal(connection, seed=4, status="won")
    response = requests.post(
        connection.webhook_url,
        json=deal_event(connection, deal),
        headers=delivery_headers(connection),
        timeout=10,
    )
    assert response.json() == {"stored": 1, "duplicates": 0}


@responses.activate
def test_pulls_wait_when_the_daily_budget_runs_low_while_webhook_fetches_go_on():
    connection = CRMConnection(
        crm_type="pipedrive",
        base_url="https://budget.example",
        account_id="budget-test",
        credentials_encrypted=json.dumps({"api_token": "personal"}),
        connection_settings={},
    )
    budget = {"x-daily-ratelimit-token-limit": "30000", "x-daily-ratelimit-token-remaining": "2000"}
    responses.add(responses.GET, "https://budget.example/api/v1/users/me", json={}, headers=budget)
    responses.add(
        responses.GET,
        "https://budget.example/api/v2/deals/7",
        json={
            "data": {
                "id": 7,
                "status": "open",
                "currency": "NGN",
                "update_time": "2026-11-22T18:26:40Z",
            }
        },
        headers=budget,
    )
    connector = PipedriveConnector(connection)
    connector.test_connection()

    with pytest.raises(RateLimited) as held:
        connector.deals_page(modified_after=timezone.now())

    assert held.value.retry_after == 900
    event = WebhookEvent(
        event_id="e1",
        event_type="change.deal",
        account_id="1",
        object_id="7",
        payload={
            "meta": {"entity": "deal", "action": "change"},
            "data": {"status": "open"},
            "previous": {"status": "won"},
        },
    )
    assert [deal.external_id for deal in connector.deals_for_event(event)] == ["7"]


@pytest.mark.django_db(transaction=True)
def test_the_irn_note_is_added_once_however_often_it_is_asked_for(live_server):
    connection = pipedrive_connection(site_url=live_server.url)
    deal = sandbox_deal(connection, seed=5, status="won")
    connector = PipedriveConnector(connection)

    for _ in range(3):
        connector.deal_irn_note(deal_id=str(deal.pk), irn="TXP000001-94ND90NR-20261203")

    notes = PipedriveSandboxRecord.objects.filter(kind="note", deal_id=deal.pk)
    assert [note.data["content"] for note in notes] == [
        IRN_NOTE.format(irn="TXP000001-94ND90NR-20261203")
    ]


def test_the_sample_token_answer_reads_with_its_company_host():
    answer = {**sample("oauth-token-response"), "company_id": "12882925"}

    tokens = PipedriveConnector(CRMConnection(crm_type="pipedrive")).oauth_tokens(
        answer, received_at=timezone.now()
    )

    assert tokens.extra == {"api_domain": "https://acme.pipedrive.com"}
    assert tokens.scopes == tuple(sample("oauth-token-response")["scope"].split(","))
    assert tokens.account_id == "12882925" and tokens.expires_at > timezone.now()


@responses.activate
def test_our_subscription_request_has_the_sample_requests_fields():
    url = "https://app.taxpoynt.test/webhooks/crm/pipedrive/c1/"
    connection = CRMConnection(
        crm_type="pipedrive",
        base_url="https://subscribe.example",
        credentials_encrypted=json.dumps({"api_token": "personal"}),
        webhook_secret="secret",
        notification_url=url,
        webhook_url=url,
    )
    responses.add(responses.GET, "https://subscribe.example/api/v1/webhooks", json={"data": []})
    responses.add(responses.POST, "https://subscribe.example/api/v1/webhooks", json={"data": {}})

    PipedriveConnector(connection).webhooks_subscribe()

    sent = [json.loads(call.request.body) for call in responses.calls[1:]]
    assert [set(body) for body in sent] == [set(sample("webhook-create-request-v1-api"))] * 2
    assert [body["event_action"] for body in sent] == ["create", "change"]
    assert {body["http_auth_password"] for body in sent} == {
        webhook_password(secret="secret", url=url)
    }
