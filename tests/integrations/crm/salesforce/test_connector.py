"""What is Salesforce's own in its connector: the org's allocation read from Sforce-Limit-Info
(slowing down, then pausing until the window allows), 403 REQUEST_LIMIT_EXCEEDED as a long
transient wait, 401 INVALID_SESSION_ID refreshed once under the lock and retried,
invalid_grant marking the connection for re-authorising, child line items drained, the
compound cursor resuming after an expired locator, and the IRN written back once."""

import json
import time
from datetime import timedelta

import pytest
import responses
from django.core.cache import cache
from django.utils import timezone

from integrations.base import pipeline
from integrations.base.errors import AuthenticationError, RateLimited
from integrations.crm.models import CRMConnection
from integrations.crm.salesforce import constants
from integrations.crm.salesforce.client import InvalidSession
from integrations.crm.salesforce.connector import SalesforceConnector
from integrations.crm.salesforce.signatures import token_signature
from sandboxes.salesforce.models import SalesforceSandboxLocator, SalesforceSandboxRecord
from tests.factories import MembershipFactory
from tests.integrations.crm.salesforce.support import (
    org_of,
    salesforce_connection,
    sandbox_opportunity,
)

INSTANCE = "https://acme.my.salesforce.com"
LIMITS = f"{INSTANCE}{constants.DATA_PATH}/limits"
TOKEN_URL = f"{constants.PRODUCTION_LOGIN}/services/oauth2/token"
ORG = "00D5g000004ExAmEAK"


def _connector(*, account_id: str = "", save: bool = False) -> SalesforceConnector:
    credentials = {
        "access_token": "old-token",
        "refresh_token": "refresh-1",
        "instance_url": INSTANCE,
    }
    fields = {
        "crm_type": "salesforce",
        "account_id": account_id or f"00D{time.time_ns() % 10**15:015d}",
        "credentials_encrypted": json.dumps(credentials),
        "won_stage_ids": ["IsWon"],
    }
    if save:
        owner = MembershipFactory(role="owner")
        connection = CRMConnection.objects.create(
            organization=owner.organization, user=owner.user, webhook_secret="", **fields
        )
    else:
        connection = CRMConnection(**fields)
    return SalesforceConnector(connection)


def _usage(used: int, limit: int = 100) -> dict:
    return {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}


@responses.activate
def test_the_95_percent_header_pauses_calls_until_the_window_allows(monkeypatch):
    cache.clear()
    responses.add(responses.GET, LIMITS, json={}, headers=_usage(95))
    connector = _connector()
    connector.client.limits()

    with pytest.raises(RateLimited) as held:
        connector.client.limits()
    assert held.value.retry_after == pytest.approx(constants.PAUSE_SECONDS, abs=5)
    assert len(responses.calls) == 1, "a paused call is not sent"

    later = time.time() + constants.PAUSE_SECONDS + 1
    monkeypatch.setattr("integrations.base.http.time.time", lambda: later)
    responses.replace(responses.GET, LIMITS, json={}, headers=_usage(40))
    connector.client.limits()
    connector.client.limits()
    assert len(responses.calls) == 3, "once the window allows, calls go again"


@responses.activate
def test_from_80_percent_calls_are_spaced_out(monkeypatch):
    cache.clear()
    slept = []
    monkeypatch.setattr("integrations.base.http.time.sleep", slept.append)
    responses.add(responses.GET, LIMITS, json={}, headers=_usage(85))
    connector = _connector()
    connector.client.limits()
    connector.client.limits()

    assert len(slept) == 1 and 0 < slept[0] <= constants.SLOW_DOWN_SECONDS


@responses.activate
def test_request_limit_exceeded_is_transient_with_a_long_wait():
    cache.clear()
    responses.add(
        responses.GET,
        LIMITS,
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    with pytest.raises(RateLimited) as raised:
        _connector().client.limits()

    assert raised.value.permanent is False
    assert raised.value.retry_after == constants.PAUSE_SECONDS


def _signed_token_answer(settings, access_token: str) -> dict:
    identity = f"{constants.PRODUCTION_LOGIN}/id/{ORG}/0055g00000ExAmPAAV"
    issued_at = str(int(time.time() * 1000))
    return {
        "access_token": access_token,
        "instance_url": INSTANCE,
        "id": identity,
        "issued_at": issued_at,
        "token_type": "Bearer",
        "scope": "api refresh_token",
        "signature": token_signature(
            identity_url=identity,
            issued_at=issued_at,
            client_secret=settings.PLATFORM_APPS["salesforce"]["client_secret"],
        ),
    }


INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@pytest.mark.django_db
@responses.activate
def test_an_invalid_session_is_refreshed_once_and_the_call_made_again(settings):
    cache.clear()
    responses.add(responses.GET, LIMITS, status=401, json=INVALID_SESSION)
    responses.add(responses.GET, LIMITS, json={"DailyApiRequests": {}}, headers=_usage(1))
    responses.add(responses.POST, TOKEN_URL, json=_signed_token_answer(settings, "new-token"))
    connector = _connector(account_id=ORG, save=True)

    connector.test_connection()

    calls = [(call.request.method, call.request.url.split("?")[0]) for call in responses.calls]
    assert calls == [("GET", LIMITS), ("POST", TOKEN_URL), ("GET", LIMITS)]
    assert responses.calls[2].request.headers["Authorization"] == "Bearer new-token"
    stored = json.loads(CRMConnection.objects.get().credentials_encrypted)
    assert (stored["access_token"], stored["refresh_token"]) == ("new-token", "refresh-1")


@pytest.mark.django_db
@responses.activate
def test_a_second_invalid_session_is_refused_credentials_without_another_refresh(settings):
    cache.clear()
    responses.add(responses.GET, LIMITS, status=401, json=INVALID_SESSION)
    responses.add(responses.POST, TOKEN_URL, json=_signed_token_answer(settings, "new-token"))

    with pytest.raises(InvalidSession):
        _connector(account_id=ORG, save=True).test_connection()
    assert [call.request.method for call in responses.calls] == ["GET", "POST", "GET"]


@pytest.mark.django_db
@responses.activate
def test_a_refused_refresh_token_marks_the_connection_for_re_authorising():
    cache.clear()
    responses.add(responses.GET, LIMITS, status=401, json=INVALID_SESSION)
    responses.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "expired access/refresh token"},
    )
    connection = _connector(account_id=ORG, save=True).connection
    with pytest.raises(AuthenticationError):
        pipeline.connection_test(connection=connection)

    assert CRMConnection.objects.get().health == CRMConnection.Health.NEEDS_REAUTH


@pytest.mark.django_db
@responses.activate
def test_a_token_answer_with_a_forged_signature_is_refused(settings):
    cache.clear()
    answer = {**_signed_token_answer(settings, "new-token"), "signature": "AAAA"}
    responses.add(responses.GET, LIMITS, status=401, json=INVALID_SESSION)
    responses.add(responses.POST, TOKEN_URL, json=answer)

    with pytest.raises(AuthenticationError):
        _connector(account_id=ORG, save=True).test_connection()
    stored = json.loads(CRMConnection.objects.get().credentials_encrypted)
    assert stored["access_token"] == "old-token"


pytestmark_live = pytest.mark.django_db(transaction=True)


@pytestmark_live
def test_child_line_items_are_drained_before_the_next_page(live_server):
    cache.clear()
    connection = salesforce_connection(site_url=live_server.url)
    org = org_of(connection)
    org.child_batch_size = 1
    org.save(update_fields=["child_batch_size"])
    made = [sandbox_opportunity(connection, seed=seed, won=True) for seed in range(3)]
    lines = {
        opportunity.sf_id: SalesforceSandboxRecord.objects.filter(
            parent_id=opportunity.sf_id, object_type="OpportunityLineItem"
        ).count()
        for opportunity in made
    }

    page = SalesforceConnector(connection).deals_page(
        modified_after=timezone.now() - timedelta(hours=1)
    )

    assert {deal.external_id: len(deal.lines) for deal in page.deals} == lines
    assert max(lines.values()) > 1, "the seeds give a paged child set"


@pytestmark_live
def test_pages_follow_next_records_url_and_an_expired_locator_resumes_after_the_last_row(
    live_server, monkeypatch
):
    cache.clear()
    monkeypatch.setattr(constants, "QUERY_BATCH_SIZE", 2)
    connection = salesforce_connection(site_url=live_server.url)
    made = {sandbox_opportunity(connection, seed=seed, won=True).sf_id for seed in range(5)}
    connector = SalesforceConnector(connection)
    since = timezone.now() - timedelta(hours=1)

    first = connector.deals_page(modified_after=since)
    assert first.has_more and len(first.deals) == 2
    SalesforceSandboxLocator.objects.all().delete()  # the locator expired meanwhile
    seen = {deal.external_id for deal in first.deals}
    page = first
    while page.has_more:
        page = connector.deals_page(modified_after=since, after_cursor=page.after_cursor)
        seen |= {deal.external_id for deal in page.deals}

    assert seen == made
    assert page.modified_after >= since


@pytestmark_live
def test_the_irn_is_written_to_the_opportunity_field_once(live_server, monkeypatch):
    cache.clear()
    connection = salesforce_connection(site_url=live_server.url)
    opportunity = sandbox_opportunity(connection, won=True)
    connector = SalesforceConnector(connection)
    updates = []
    from sandboxes.salesforce import server

    original = server.record_update
    monkeypatch.setattr(server, "record_update", lambda **kw: updates.append(kw) or original(**kw))

    connector.deal_irn_note(deal_id=opportunity.sf_id, irn="INV0001-ABC123-20261204")
    connector.deal_irn_note(deal_id=opportunity.sf_id, irn="INV0001-ABC123-20261204")

    opportunity.refresh_from_db()
    assert opportunity.fields["FIRS_IRN__c"] == "INV0001-ABC123-20261204"
    assert len(updates) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("login_host", "authorize"),
    [
        ("", "https://login.salesforce.com/services/oauth2/authorize?"),
        ("https://test.salesforce.com", "https://test.salesforce.com/services/oauth2/authorize?"),
        (
            "https://acme.my.salesforce.com/",
            "https://acme.my.salesforce.com/services/oauth2/authorize?",
        ),
    ],
)
def test_the_tenant_chooses_the_login_host(login_host, authorize):
    from integrations.base import connections

    owner = MembershipFactory(role="owner")
    url = connections.oauth_start(
        family="crm",
        platform="salesforce",
        organization=owner.organization,
        user=owner.user,
        session_key="session-1",
        redirect_uri="https://app.taxpoynt.test/integrations/oauth/crm/salesforce/callback/",
        login_host=login_host,
    )

    assert url.startswith(authorize)
    assert "code_challenge=" in url and "code_challenge_method=S256" in url


@pytest.mark.django_db
@pytest.mark.parametrize(
    "login_host",
    ["https://evil.test", "http://test.salesforce.com", "https://x.salesforce.com.evil"],
)
def test_a_login_host_that_is_not_salesforces_is_refused(login_host):
    from integrations.base import connections

    owner = MembershipFactory(role="owner")
    with pytest.raises(connections.ConnectError):
        connections.oauth_start(
            family="crm",
            platform="salesforce",
            organization=owner.organization,
            user=owner.user,
            session_key="session-1",
            redirect_uri="https://app.taxpoynt.test/cb/",
            login_host=login_host,
        )


@pytest.mark.django_db
def test_the_api_takes_the_login_host_too():
    from rest_framework.test import APIClient

    from accounts.api_tokens.services import api_token_create

    owner = MembershipFactory(role="owner")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(user=owner.user, name='t').raw}"
    )

    answer = client.post(
        "/api/v1/integrations/crm/salesforce/connect",
        {"login_host": "https://acme.my.salesforce.com"},
        format="json",
    )
    refused = client.post(
        "/api/v1/integrations/crm/salesforce/connect",
        {"login_host": "https://evil.test"},
        format="json",
    )

    assert answer.status_code in (200, 201), answer.content
    assert "https://acme.my.salesforce.com/services/oauth2/authorize?" in answer.content.decode()
    assert refused.status_code == 400
