"""The kit's OAuth server through Acme: a rotating refresh token, the app's own redirect URL,
PKCE beside the client secret (the kit's defaults), and Square's and HubSpot's variants covered
by their own sandbox tests."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from sandboxes.kit.oauth import OAuthFailure, pkce_challenge, url_with
from tests.sandboxes.kit import acme
from tests.sandboxes.kit.acme import REDIRECT_URI, AcmeAccessToken, AcmeAuthorizationCode

pytestmark = pytest.mark.urls("tests.sandboxes.kit.acme")
VERIFIER = "v" * 43


def authorize(client, **params):
    query = {"client_id": "client-1", "scope": "orders read", "redirect_uri": REDIRECT_URI}
    return client.get("/oauth/authorize", {**query, **params})


def code_of(response) -> str:
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def token(client, **form):
    return client.post("/oauth/token", {"client_id": "client-1", **form})


def code_grant(client, code, **form):
    defaults = {
        "grant_type": "authorization_code",
        "client_secret": "secret-1",
        "redirect_uri": REDIRECT_URI,
    }
    return token(client, code=code, **(defaults | form))


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_authorize_consents_at_once_and_sends_the_account_back(client, shop):
    response = authorize(client, state="s-1")

    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    code = AcmeAuthorizationCode.objects.get(code=query["code"][0])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT_URI
    assert query["state"] == ["s-1"]
    assert code.account == shop
    assert code.scopes == ["orders", "read"]
    assert timedelta(minutes=9) < code.expires_at - timezone.now() <= timedelta(minutes=10)


@pytest.mark.parametrize(
    "params, failure",
    [
        ({"client_id": "nobody"}, OAuthFailure.UNKNOWN_CLIENT),
        ({"redirect_uri": "https://elsewhere.example/cb"}, OAuthFailure.BAD_REDIRECT_URI),
        ({"scope": ""}, OAuthFailure.BAD_SCOPE),
        ({"code_challenge": pkce_challenge(VERIFIER)}, OAuthFailure.BAD_CODE_CHALLENGE_METHOD),
        (
            {"code_challenge": pkce_challenge(VERIFIER), "code_challenge_method": "plain"},
            OAuthFailure.BAD_CODE_CHALLENGE_METHOD,
        ),
        (
            {"code_challenge": "short", "code_challenge_method": "S256"},
            OAuthFailure.BAD_CODE_CHALLENGE,
        ),
    ],
)
def test_authorize_refuses_a_bad_request(client, shop, params, failure):
    response = authorize(client, **params)

    assert response.status_code == 400
    assert error_code(response) == failure


def test_a_code_is_redeemed_once_for_a_token_that_opens_the_api(client, shop):
    code = code_of(authorize(client))

    first = code_grant(client, code)
    second = code_grant(client, code)
    call = client.post(
        "/v1/orders",
        {},
        "application/json",
        headers={"Authorization": f"Bearer {first.json()['access_token']}"},
    )

    assert first.status_code == 200
    assert first.json()["token_type"] == "bearer"
    assert first.json()["expires_in"] == 7200
    assert first.json()["scope"] == "orders read"
    assert second.status_code == 401
    assert error_code(second) == OAuthFailure.BAD_CODE
    assert call.status_code == 201


def test_an_expired_code_is_refused(client, shop):
    code = code_of(authorize(client))
    AcmeAuthorizationCode.objects.update(expires_at=timezone.now())

    assert error_code(code_grant(client, code)) == OAuthFailure.BAD_CODE


@pytest.mark.parametrize(
    "form, status, failure",
    [
        ({"client_id": ""}, 400, OAuthFailure.MISSING_PARAMETER),
        ({"client_id": "nobody"}, 401, OAuthFailure.TOKEN_UNKNOWN_CLIENT),
        ({"client_secret": "guess"}, 401, OAuthFailure.BAD_CLIENT_SECRET),
        ({"grant_type": "password"}, 400, OAuthFailure.BAD_GRANT_TYPE),
        ({"redirect_uri": "https://a.example/cb"}, 400, OAuthFailure.REDIRECT_URI_MISMATCH),
    ],
)
def test_the_token_request_refuses_a_bad_request(client, shop, form, status, failure):
    code = code_of(authorize(client))

    response = code_grant(client, code, **form)

    assert response.status_code == status
    assert error_code(response) == failure
    assert code_grant(client, code).status_code == 200  # a refused attempt does not burn it


def test_pkce_needs_the_verifier_as_well_as_the_secret(client, shop):
    challenge = pkce_challenge(VERIFIER)
    code = code_of(authorize(client, code_challenge=challenge, code_challenge_method="S256"))

    missing = code_grant(client, code)
    wrong = code_grant(client, code, code_verifier="w" * 43)
    no_secret = code_grant(client, code, client_secret="", code_verifier=VERIFIER)
    right = code_grant(client, code, code_verifier=VERIFIER)

    assert error_code(missing) == OAuthFailure.MISSING_PARAMETER
    assert error_code(wrong) == OAuthFailure.BAD_CODE_VERIFIER
    assert error_code(no_secret) == OAuthFailure.MISSING_PARAMETER
    assert right.status_code == 200
    assert AcmeAccessToken.objects.get().is_pkce


def test_a_rotating_refresh_token_is_single_use_and_keeps_the_grants_scopes(client, shop):
    first = code_grant(client, code_of(authorize(client))).json()
    refresh = {"grant_type": "refresh_token", "client_secret": "secret-1"}

    refreshed = token(client, **refresh, refresh_token=first["refresh_token"])
    reused = token(client, **refresh, refresh_token=first["refresh_token"])
    again = token(client, **refresh, refresh_token=refreshed.json()["refresh_token"])

    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first["refresh_token"]
    assert refreshed.json()["scope"] == "orders read"
    assert reused.status_code == 401
    assert error_code(reused) == OAuthFailure.BAD_REFRESH_TOKEN
    assert again.status_code == 200
    newest = AcmeAccessToken.objects.get(access_token=again.json()["access_token"])
    assert timedelta(days=59) < newest.refresh_token_expires_at - timezone.now()


def test_a_refresh_token_past_its_lifetime_is_refused(client, shop):
    first = code_grant(client, code_of(authorize(client))).json()
    AcmeAccessToken.objects.update(refresh_token_expires_at=timezone.now())

    response = token(
        client,
        grant_type="refresh_token",
        client_secret="secret-1",
        refresh_token=first["refresh_token"],
    )

    assert error_code(response) == OAuthFailure.BAD_REFRESH_TOKEN


def test_revoking_a_grant_revokes_every_token_it_minted(client, shop):
    first = code_grant(client, code_of(authorize(client))).json()
    grant = acme.oauth.grant_live(first["refresh_token"])

    revoked = acme.oauth.grant_revoke(first["refresh_token"])

    assert grant.access_token == first["access_token"]
    assert revoked == 1
    assert acme.oauth.access_token_live(first["access_token"]) is None
    assert acme.oauth.token_for_bearer(first["access_token"]).revoked_at is not None
    assert acme.oauth.grant_live(first["refresh_token"]) is None


def test_an_expired_access_token_is_not_live(client, shop):
    first = code_grant(client, code_of(authorize(client))).json()
    AcmeAccessToken.objects.update(expires_at=timezone.now())

    assert acme.oauth.access_token_live(first["access_token"]) is None
    assert acme.oauth.token_for_bearer(first["access_token"]) is not None


def test_url_with_keeps_the_urls_own_query():
    assert url_with("https://a.example/cb?flow=x", code="c") == "https://a.example/cb?flow=x&code=c"
