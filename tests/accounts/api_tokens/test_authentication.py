"""`Authorization: Token <token>` against hashed tokens: the header clients use is unchanged; a
revoked, expired, unknown or malformed token, or one of an inactive user, answers 401."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.api_tokens import services
from accounts.api_tokens.models import ApiToken

ORGANIZATIONS = "/api/v1/organizations/"


def _get(api_client, authorization: str):
    return api_client.get(ORGANIZATIONS, HTTP_AUTHORIZATION=authorization)


@pytest.mark.django_db
def test_a_token_acts_as_its_user(api_client, owner_a, org_a, org_b):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    response = _get(api_client, f"Token {issued.raw}")
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [org_a.pk]


@pytest.mark.django_db
def test_the_row_holds_the_digest_and_prefix_never_the_token(owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    assert len(issued.raw) >= 43  # 32 random bytes, URL-safe base64
    row = ApiToken.objects.values().get(pk=issued.token.pk)
    assert row["digest"] == hashlib.sha256(issued.raw.encode()).hexdigest()
    assert row["prefix"] == issued.raw[:8]
    assert issued.raw not in {str(value) for value in row.values()}


@pytest.mark.django_db
def test_a_revoked_token_is_refused(api_client, owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    assert _get(api_client, f"Token {issued.raw}").status_code == 200
    services.api_token_revoke(user=owner_a, token_id=issued.token.pk)
    response = _get(api_client, f"Token {issued.raw}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "detail": "This token was revoked or has expired.",
        "code": "authentication_failed",
    }


@pytest.mark.django_db
def test_an_expired_token_is_refused(api_client, owner_a):
    issued = services.api_token_create(
        user=owner_a, name="short-lived", expires_at=timezone.now() + timedelta(days=1)
    )
    assert _get(api_client, f"Token {issued.raw}").status_code == 200
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _get(api_client, f"Token {issued.raw}").status_code == 401


@pytest.mark.django_db
def test_an_inactive_users_token_is_refused(api_client, owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    owner_a.is_active = False
    owner_a.save(update_fields=["is_active"])
    assert _get(api_client, f"Token {issued.raw}").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        "Token not-a-token-we-issued",
        "Token",
        "Token two parts",
        "Token " + "x" * 500,
        "Token caf\u00e9",
    ],
    ids=["unknown", "empty", "spaces", "too-long", "non-ascii"],
)
def test_unknown_or_malformed_tokens_are_refused(api_client, owner_a, authorization):
    services.api_token_create(user=owner_a, name="ERP bridge")
    response = _get(api_client, authorization)
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.django_db
def test_an_expiry_in_the_past_is_refused(owner_a):
    with pytest.raises(ValidationError):
        services.api_token_create(
            user=owner_a, name="x", expires_at=timezone.now() - timedelta(minutes=1)
        )
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_last_used_is_recorded_at_most_once_a_minute(api_client, owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    assert _get(api_client, f"Token {issued.raw}").status_code == 200
    first_use = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        assert _get(api_client, f"Token {issued.raw}").status_code == 200
    token_queries = [q["sql"] for q in queries.captured_queries if "accounts_apitoken" in q["sql"]]
    assert len(token_queries) == 1 and token_queries[0].startswith("SELECT")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first_use

    token = ApiToken.objects.get(pk=issued.token.pk)
    services.api_token_mark_used(token=token, now=first_use + timedelta(seconds=59))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first_use
    later = first_use + timedelta(seconds=61)
    services.api_token_mark_used(token=token, now=later)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == later


@pytest.mark.django_db
def test_a_user_cannot_revoke_another_users_token(owner_a, owner_b):
    issued = services.api_token_create(user=owner_b, name="theirs")
    with pytest.raises(ApiToken.DoesNotExist):
        services.api_token_revoke(user=owner_a, token_id=issued.token.pk)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None
