"""The API tokens page: a user makes a token (shown once), sees theirs by name and prefix, and
revokes one after confirming; another user's token answers 404 like a missing one."""

import re

import pytest
from django.urls import reverse

from accounts.api_tokens import services
from accounts.api_tokens.models import ApiToken

pytestmark = pytest.mark.django_db

LIST = "/api-tokens/"


@pytest.fixture
def signed_in(client, owner_a):
    client.force_login(owner_a)
    return client


def _issued_token(page) -> str:
    return re.search(r'id="issued-token"[^>]*value="([^"]+)"', page.content.decode()).group(1)


def _organizations(api_client, raw):
    return api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {raw}")


def test_a_token_made_on_the_page_is_shown_once_and_works(signed_in, api_client, owner_a):
    made = signed_in.post(LIST, {"name": "ERP bridge", "expires_in": "90"})
    assert made.status_code == 201
    assert "no-store" in made["Cache-Control"]
    raw = _issued_token(made)
    assert _organizations(api_client, raw).status_code == 200
    token = ApiToken.objects.get(user=owner_a)
    assert token.name == "ERP bridge" and token.expires_at is not None

    listed = signed_in.get(LIST).content.decode()
    assert "ERP bridge" in listed and f"{raw[:8]}…" in listed
    assert raw not in listed
    assert 'id="issued-token"' not in listed


def test_a_token_needs_a_name(signed_in):
    page = signed_in.post(LIST, {"name": "   ", "expires_in": ""})
    assert page.status_code == 200
    assert page.context["form"].errors == {"name": ["This field is required."]}
    assert not ApiToken.objects.exists()


def test_revoking_asks_first_then_stops_the_token(signed_in, api_client, owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    url = reverse("api_tokens:revoke", args=[issued.token.pk])
    confirm = signed_in.get(url)
    assert confirm.status_code == 200
    assert f"{issued.raw[:8]}…" in confirm.content.decode()
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None

    done = signed_in.post(url, follow=True)
    assert done.redirect_chain == [(LIST, 302)]
    assert [str(m) for m in done.context["messages"]] == [
        f"The token {issued.raw[:8]}… (ERP bridge) was revoked."
    ]
    assert "Revoked" in done.content.decode()
    assert _organizations(api_client, issued.raw).status_code == 401


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_token_answers_404(signed_in, api_client, owner_b, method):
    theirs = services.api_token_create(user=owner_b, name="theirs")
    foreign = getattr(signed_in, method)(reverse("api_tokens:revoke", args=[theirs.token.pk]))
    missing = getattr(signed_in, method)(reverse("api_tokens:revoke", args=[999999]))
    assert foreign.status_code == missing.status_code == 404
    assert _organizations(api_client, theirs.raw).status_code == 200
    assert "theirs" not in signed_in.get(LIST).content.decode()


@pytest.mark.parametrize(("method", "path"), [("get", LIST), ("post", LIST)])
def test_anonymous_users_are_sent_to_sign_in(client, method, path):
    response = getattr(client, method)(path, {"name": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not ApiToken.objects.exists()
