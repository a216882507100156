"""Header scan in production settings (S6): every page type sends the content policy and the
other security headers, and production's cookies are Secure, HttpOnly and SameSite."""

import pytest
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import override_settings

from taxpoynt.lib.security_headers import forwarded_client_ip
from taxpoynt.settings import production
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

# What production sets on top of the shared settings, applied to this process's settings.
PRODUCTION_SECURITY = {
    name: getattr(production, name)
    for name in dir(production)
    if name.startswith(("SECURE_", "SESSION_COOKIE_", "CSRF_COOKIE_", "X_FRAME", "CONTENT_SEC"))
    or name in ("DEBUG", "PERMISSIONS_POLICY")
}
HTTPS = {"secure": True, "headers": {"X-Forwarded-Proto": "https"}}


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in policy.split(";") if directive.strip())
    return {name: values for name, *values in parts}


def _assert_secure_headers(response, url: str) -> None:
    headers = response.headers
    assert "Content-Security-Policy" in headers, url
    policy = _directives(headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in policy["script-src"], url
    assert "'unsafe-eval'" not in policy["script-src"], url
    assert policy["frame-ancestors"] == ["'none'"], url
    assert headers["X-Content-Type-Options"] == "nosniff", url
    assert headers["Referrer-Policy"] == "same-origin", url
    assert headers["X-Frame-Options"] == "DENY", url
    assert "camera=()" in headers["Permissions-Policy"], url
    assert headers["Strict-Transport-Security"].startswith("max-age=15724800"), url


@pytest.fixture
def production_security():
    with override_settings(**PRODUCTION_SECURITY):
        yield


def test_every_page_type_sends_the_security_headers(
    client, owner_a, token_client, production_security
):
    anonymous = {
        "/login/": 200,
        "/admin/login/": 200,
        "/api/docs/": 200,
        "/api/docs/?script=": 200,
    }
    for url, status in anonymous.items():
        response = client.get(url, **HTTPS)
        assert response.status_code == status, url
        _assert_secure_headers(response, url)

    api = token_client(owner_a).get("/api/v1/organizations/", **HTTPS)
    assert api.status_code == 200
    _assert_secure_headers(api, "API")

    client.force_login(owner_a)
    for url in ("/", "/members/", "/pos/", "/crm/", "/erp/", "/invoices/"):
        response = client.get(url, **HTTPS)
        assert response.status_code == 200, url
        _assert_secure_headers(response, url)


def test_production_cookies_are_secure_httponly_and_samesite(client, owner_a, production_security):
    client.get("/login/", **HTTPS)
    signed_in = client.post(
        "/login/", {"username": owner_a.username, "password": PASSWORD}, **HTTPS
    )
    assert signed_in.status_code == 302
    for name in ("csrftoken", "sessionid"):
        cookie = client.cookies[name]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax", name


def test_a_nonce_is_what_lets_an_inline_script_run(rf):
    """The policy's script-src carries the request's nonce once a template asks for it."""

    def view(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}"></script>')

    request = rf.get("/")
    response = CSPMiddleware(view)(request)
    nonce = str(request.csp_nonce)
    assert (
        f"'nonce-{nonce}'" in _directives(response.headers["Content-Security-Policy"])["script-src"]
    )


def test_lockouts_behind_the_proxy_count_the_address_the_proxy_saw(rf):
    """Entries a client puts in X-Forwarded-For itself do not choose its lockout address."""
    spoofed = rf.get("/", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5", REMOTE_ADDR="10.0.0.2")
    assert forwarded_client_ip(spoofed) == "203.0.113.5"
    assert forwarded_client_ip(rf.get("/", REMOTE_ADDR="198.51.100.4")) == "198.51.100.4"
    assert production.AXES_CLIENT_IP_CALLABLE.endswith(".forwarded_client_ip")
