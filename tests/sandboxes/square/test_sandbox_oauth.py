import base64
import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from sandboxes.square.api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, sandbox_merchant_create
from sandboxes.square.models import SquareSandboxAccessToken, SquareSandboxAuthorizationCode
from tests.integrations.pos.square.support import SANDBOX, sandbox_call, sandbox_error

REDIRECT = "https://app.example.ng/integrations/square/callback?flow=connect"
SCOPES = "ORDERS_READ PAYMENTS_READ MERCHANT_PROFILE_READ"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize(client, **params):
    query = {"client_id": DEFAULT_CLIENT_ID, "scope": SCOPES, "redirect_uri": REDIRECT, **params}
    query = {key: value for key, value in query.items() if value is not None}
    return client.get(f"{SANDBOX}/oauth2/authorize", query)


def code_from(response) -> str:
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def token(client, **body):
    return client.post(
        f"{SANDBOX}/oauth2/token",
        {"client_id": DEFAULT_CLIENT_ID, **body},
        content_type="application/json",
    )


def code_grant(client, code, **body):
    defaults = {"redirect_uri": REDIRECT, "client_secret": DEFAULT_CLIENT_SECRET}
    return token(client, grant_type="authorization_code", code=code, **(defaults | body))


def revoke(client, body, *, secret=DEFAULT_CLIENT_SECRET):
    return client.post(
        f"{SANDBOX}/oauth2/revoke",
        {"client_id": DEFAULT_CLIENT_ID, **body},
        content_type="application/json",
        headers={"Authorization": f"Client {secret}"},
    )


@pytest.fixture
def connected(client, db):
    """A code-flow token answer for a new seller."""
    response = code_grant(client, code_from(authorize(client, state="s1")))
    assert response.status_code == 200, response.json()
    return response.json()


def test_authorize_approves_at_once_and_sends_the_seller_back(client, db):
    response = authorize(client, state="xyz-123")

    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert response.status_code == 302
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT.split("?")[0]
    assert query["flow"] == ["connect"]  # the redirect URL's own query is kept
    assert query["state"] == ["xyz-123"]
    assert query["response_type"] == ["code"]
    code = SquareSandboxAuthorizationCode.objects.get(code=query["code"][0])
    assert code.scopes == SCOPES.split()
    assert code.expires_at - timezone.now() <= timedelta(minutes=5)


def test_the_code_flow_gives_a_30_day_token_that_opens_the_api(client, connected):
    expires_at = datetime.fromisoformat(connected["expires_at"])
    merchant_token = connected["access_token"]

    locations = sandbox_call(client, "get", "/v2/locations", token=merchant_token)
    status = client.post(
        f"{SANDBOX}/oauth2/token/status", headers={"Authorization": f"Bearer {merchant_token}"}
    ).json()

    assert connected["token_type"] == "bearer"
    assert connected["short_lived"] is False
    assert connected["refresh_token"]
    assert "refresh_token_expires_at" not in connected  # code flow: it never expires
    assert timedelta(days=29) < expires_at - timezone.now() <= timedelta(days=30)
    assert connected["expires_at"].endswith("Z")
    assert locations.status_code == 200
    assert locations.json()["locations"][0]["merchant_id"] == connected["merchant_id"]
    assert status == {
        "scopes": SCOPES.split(),
        "expires_at": connected["expires_at"],
        "client_id": DEFAULT_CLIENT_ID,
        "merchant_id": connected["merchant_id"],
    }


def test_a_code_is_redeemed_once(client, db):
    code = code_from(authorize(client))

    first = code_grant(client, code)
    second = code_grant(client, code)

    assert first.status_code == 200
    assert second.status_code == 401
    assert sandbox_error(second)["code"] == "UNAUTHORIZED"


def test_a_code_lasts_five_minutes(client, db):
    code = code_from(authorize(client))
    SquareSandboxAuthorizationCode.objects.filter(code=code).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert code_grant(client, code).status_code == 401


def test_the_code_flow_needs_the_apps_secret(client, db):
    code = code_from(authorize(client))

    wrong = code_grant(client, code, client_secret="sandbox-sq0csb-guess")
    missing = token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    right = code_grant(client, code)

    assert wrong.status_code == 401
    assert sandbox_error(missing)["field"] == "client_secret"
    assert right.status_code == 200  # a refused attempt does not burn the code


def test_the_token_request_must_repeat_the_authorize_redirect_uri(client, db):
    code = code_from(authorize(client))

    response = code_grant(client, code, redirect_uri="https://elsewhere.example/cb")

    assert response.status_code == 400
    assert sandbox_error(response)["field"] == "redirect_uri"


def test_the_pkce_flow_checks_the_verifier_instead_of_the_secret(client, db):
    verifier, challenge = pkce_pair()
    code = code_from(authorize(client, code_challenge=challenge, code_challenge_method="S256"))

    wrong = code_grant(client, code, client_secret=None, code_verifier=pkce_pair()[0])
    missing = code_grant(client, code, client_secret=None)
    right = code_grant(client, code, client_secret=None, code_verifier=verifier)

    assert wrong.status_code == 401
    assert sandbox_error(missing)["field"] == "code_verifier"
    assert right.status_code == 200
    refresh_expires = datetime.fromisoformat(right.json()["refresh_token_expires_at"])
    assert timedelta(days=89) < refresh_expires - timezone.now() <= timedelta(days=90)


def test_a_pkce_refresh_token_is_single_use(client, db):
    verifier, challenge = pkce_pair()
    code = code_from(authorize(client, code_challenge=challenge))
    first = code_grant(client, code, client_secret=None, code_verifier=verifier).json()

    refreshed = token(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    reused = token(client, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first["refresh_token"]
    assert refreshed.json()["merchant_id"] == first["merchant_id"]
    assert reused.status_code == 401


def test_a_code_flow_refresh_keeps_the_refresh_token_and_may_narrow_scopes(client, connected):
    refresh = {"grant_type": "refresh_token", "refresh_token": connected["refresh_token"]}

    without_secret = token(client, **refresh)
    narrowed = token(
        client, **refresh, client_secret=DEFAULT_CLIENT_SECRET, scopes=["ORDERS_READ", "NOPE"]
    ).json()
    again = token(client, **refresh, client_secret=DEFAULT_CLIENT_SECRET).json()
    locations = sandbox_call(client, "get", "/v2/locations", token=narrowed["access_token"])
    orders = sandbox_call(
        client,
        "post",
        "/v2/orders/search",
        {"location_ids": ["L1"]},
        token=narrowed["access_token"],
    )

    assert sandbox_error(without_secret)["field"] == "client_secret"
    assert narrowed["refresh_token"] == again["refresh_token"] == connected["refresh_token"]
    assert narrowed["access_token"] != connected["access_token"]
    assert locations.status_code == 403
    assert sandbox_error(locations)["code"] == "INSUFFICIENT_SCOPES"
    assert orders.status_code == 200
    # Narrowing one token leaves the authorization as it was.
    widest = sandbox_call(client, "get", "/v2/locations", token=again["access_token"])
    assert widest.status_code == 200


def test_a_short_lived_token_lasts_a_day(client, db):
    answer = code_grant(client, code_from(authorize(client)), short_lived=True).json()

    expires_at = datetime.fromisoformat(answer["expires_at"])
    assert answer["short_lived"] is True
    assert expires_at - timezone.now() <= timedelta(hours=24)


def test_scopes_limit_what_a_token_may_call(client, db):
    answer = code_grant(client, code_from(authorize(client, scope="PAYMENTS_READ"))).json()

    create = sandbox_call(
        client,
        "post",
        "/v2/payments",
        {"idempotency_key": "k", "source_id": "CASH"},
        token=answer["access_token"],
    )
    listing = sandbox_call(client, "get", "/v2/payments", token=answer["access_token"])

    assert create.status_code == 403
    assert "PAYMENTS_WRITE" in sandbox_error(create)["detail"]
    assert listing.status_code == 200


def test_authorize_can_connect_an_existing_seller(client, db):
    merchant = sandbox_merchant_create()

    answer = code_grant(client, code_from(authorize(client, merchant_id=merchant.merchant_id)))
    locations = sandbox_call(client, "get", "/v2/locations", token=answer.json()["access_token"])

    assert answer.json()["merchant_id"] == merchant.merchant_id
    assert locations.json()["locations"][0]["id"] == merchant.locations.get().location_id


def test_revoking_a_token_revokes_the_sellers_authorization(client, connected):
    refresh = {"grant_type": "refresh_token", "refresh_token": connected["refresh_token"]}
    second = token(client, **refresh, client_secret=DEFAULT_CLIENT_SECRET).json()

    revoked = revoke(client, {"access_token": connected["access_token"]})
    calls = [
        sandbox_call(client, "get", "/v2/locations", token=answer["access_token"])
        for answer in (connected, second)
    ]
    status = client.post(
        f"{SANDBOX}/oauth2/token/status",
        headers={"Authorization": f"Bearer {connected['access_token']}"},
    )

    assert revoked.json() == {"success": True}
    assert [call.status_code for call in calls] == [401, 401]
    assert [sandbox_error(call)["code"] for call in calls] == ["ACCESS_TOKEN_REVOKED"] * 2
    assert sandbox_error(status)["code"] == "UNAUTHORIZED"
    assert token(client, **refresh, client_secret=DEFAULT_CLIENT_SECRET).status_code == 401


def test_revoke_only_access_token_leaves_the_others(client, connected):
    refresh = {"grant_type": "refresh_token", "refresh_token": connected["refresh_token"]}
    second = token(client, **refresh, client_secret=DEFAULT_CLIENT_SECRET).json()

    revoke(client, {"access_token": second["access_token"], "revoke_only_access_token": True})

    first_call = sandbox_call(client, "get", "/v2/locations", token=connected["access_token"])
    second_call = sandbox_call(client, "get", "/v2/locations", token=second["access_token"])
    assert (first_call.status_code, second_call.status_code) == (200, 401)


def test_revoke_by_merchant_id(client, connected):
    revoked = revoke(client, {"merchant_id": connected["merchant_id"]})
    again = revoke(client, {"merchant_id": connected["merchant_id"]})

    call = sandbox_call(client, "get", "/v2/locations", token=connected["access_token"])
    assert revoked.status_code == 200
    assert again.status_code == 404
    assert call.status_code == 401


@pytest.mark.parametrize(
    "body, secret, status, field",
    [
        ({"access_token": "x"}, "sandbox-sq0csb-guess", 401, None),
        ({"access_token": "x", "merchant_id": "y"}, DEFAULT_CLIENT_SECRET, 400, "merchant_id"),
        ({}, DEFAULT_CLIENT_SECRET, 400, "access_token"),
        ({"access_token": "unknown"}, DEFAULT_CLIENT_SECRET, 404, "access_token"),
    ],
)
def test_revoke_refuses_a_bad_request(client, db, body, secret, status, field):
    response = revoke(client, body, secret=secret)

    assert response.status_code == status
    assert sandbox_error(response).get("field") == field


def test_an_expired_token_is_refused(client, connected):
    SquareSandboxAccessToken.objects.filter(access_token=connected["access_token"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = sandbox_call(client, "get", "/v2/locations", token=connected["access_token"])

    assert response.status_code == 401
    assert sandbox_error(response)["code"] == "ACCESS_TOKEN_EXPIRED"


def test_a_sellers_own_token_has_a_status_without_expiry(client, db):
    merchant = sandbox_merchant_create()

    status = client.post(
        f"{SANDBOX}/oauth2/token/status",
        headers={"Authorization": f"Bearer {merchant.access_token}"},
    )

    assert status.json() == {"client_id": DEFAULT_CLIENT_ID, "merchant_id": merchant.merchant_id}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"client_id": "sq0idp-someone-else"}, "client_id"),
        ({"scope": None}, "scope"),
        ({"scope": "orders read"}, "scope"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "code_challenge"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "code_challenge_method"),
        ({"merchant_id": "NOPE"}, "merchant_id"),
    ],
)
def test_authorize_refuses_a_bad_request(client, db, params, field):
    response = authorize(client, **params)

    assert response.status_code in (400, 404)
    assert sandbox_error(response)["field"] == field


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"client_id": None, "grant_type": "authorization_code"}, 400, "client_id"),
        ({"client_id": "sq0idp-someone-else", "grant_type": "refresh_token"}, 401, None),
        ({"grant_type": "migration_token"}, 400, "grant_type"),
        ({"grant_type": "authorization_code"}, 400, "code"),
        ({"grant_type": "refresh_token"}, 400, "refresh_token"),
        ({"grant_type": "refresh_token", "refresh_token": "EQAAnope"}, 401, None),
        (
            {"grant_type": "authorization_code", "code": "x", "short_lived": "no"},
            400,
            "short_lived",
        ),
    ],
)
def test_obtain_token_refuses_a_bad_request(client, db, body, status, field):
    response = client.post(
        f"{SANDBOX}/oauth2/token",
        {key: value for key, value in {"client_id": DEFAULT_CLIENT_ID, **body}.items() if value},
        content_type="application/json",
    )

    assert response.status_code == status
    assert sandbox_error(response).get("field") == field
