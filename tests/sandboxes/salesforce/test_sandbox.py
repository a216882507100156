"""The Salesforce sandbox behaves as Salesforce does where a client can tell: the web-server
flow's signed token answer without ``expires_in`` (a refresh answers no refresh token),
Sforce-Limit-Info on every reply and 403 REQUEST_LIMIT_EXCEEDED once the allocation is spent,
401 INVALID_SESSION_ID for a session that is over, errors as JSON arrays, the SOQL subset
(anything else MALFORMED_QUERY), and Outbound Messages in the real envelope."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.crm.salesforce import mappers
from integrations.crm.salesforce.signatures import token_signature_valid
from sandboxes.kit.oauth import pkce_challenge
from sandboxes.salesforce.api import oauth
from sandboxes.salesforce.server import outbound_message, record_create, sandbox_org_create

pytestmark = pytest.mark.django_db
ROOT = "/sandbox/salesforce"
DATA = f"{ROOT}/services/data/v62.0"
REDIRECT = "https://app.example/callback/"
VERIFIER = "v" * 64


@pytest.fixture
def org():
    cache.clear()
    return sandbox_org_create(redirect_uri=REDIRECT, api_max=5)


def _token(client, org, **form):
    return client.post(
        f"{ROOT}/services/oauth2/token",
        {"client_id": org.client_id, "client_secret": org.client_secret, **form},
    )


def _granted(client, org) -> dict:
    consent = client.get(
        f"{ROOT}/services/oauth2/authorize",
        {
            "response_type": "code",
            "client_id": org.client_id,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "code_challenge": pkce_challenge(VERIFIER),
            "code_challenge_method": "S256",
        },
    )
    code = parse_qs(urlsplit(consent["Location"]).query)["code"][0]
    answer = _token(
        client,
        org,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_the_token_answer_is_signed_names_the_org_and_says_no_lifetime(client, org):
    answer = _granted(client, org)

    assert "expires_in" not in answer
    assert answer["id"].endswith(f"/id/{org.org_id}/{org.user_id}")
    assert answer["instance_url"] == f"http://testserver{ROOT}"
    assert token_signature_valid(answer=answer, client_secret=org.client_secret)
    refreshed = _token(
        client, org, grant_type="refresh_token", refresh_token=answer["refresh_token"]
    )
    assert "refresh_token" not in refreshed.json()
    assert token_signature_valid(answer=refreshed.json(), client_secret=org.client_secret)


def test_a_spent_refresh_token_is_invalid_grant(client, org):
    answer = _token(client, org, grant_type="refresh_token", refresh_token="nope")

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }


def test_every_reply_reports_the_allocation_and_a_spent_one_is_403(client, org):
    token = _granted(client, org)["access_token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    seen = [client.get(f"{DATA}/limits", **headers) for _ in range(6)]

    assert [reply["Sforce-Limit-Info"] for reply in seen] == [
        f"api-usage={used}/5" for used in (1, 2, 3, 4, 5, 5)
    ]
    assert seen[-1].status_code == 403
    assert seen[-1].json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_a_session_that_is_over_is_invalid_session_id(client, org):
    token = _granted(client, org)["access_token"]
    oauth.token_model.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    reply = client.get(f"{DATA}/limits", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert reply.status_code == 401
    assert reply.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_a_query_outside_the_subset_is_malformed(client, org):
    token = _granted(client, org)["access_token"]
    reply = client.get(
        f"{DATA}/query", {"q": "SELECT Id FROM Lead"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_the_outbound_message_is_the_envelope_our_endpoint_reads(org):
    opportunity = record_create(
        org=org, object_type="Opportunity", fields={"Name": "A", "StageName": "Closed Won"}
    )
    body = outbound_message(
        org=org, notifications=[("04l5g00000ExAmPAAR", {"Id": opportunity.sf_id, "IsWon": True})]
    )

    (event,) = mappers.webhook_events(body)
    assert (event.account_id, event.object_id) == (org.org_id, opportunity.sf_id)
    assert json.dumps(event.payload["fields"]) == json.dumps(
        {"Id": opportunity.sf_id, "IsWon": "true"}
    )
