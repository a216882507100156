import secrets

import pytest
from django.core.cache import cache
from django.db import connections
from playwright.sync_api import sync_playwright

from accounts.models import Membership
from accounts.services import demo_data_ensure
from invoices.firs.client import SharedCircuitBreaker
from sandboxes.firs.server import sandbox_organization_connect
from sandboxes.square.api import square_sandbox_faults_reset
from tests.factories import PASSWORD, MembershipFactory
from tests.pages.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_no_csp_violations,
    chromium_ready,
    watch_csp_violations,
)


@pytest.fixture
def client_a(client, owner_a):
    """A browser session of organization A's owner."""
    client.force_login(owner_a)
    return client


@pytest.fixture
def member_a(org_a):
    """A new user with the given role in organization A."""

    def make(role: str = Membership.Role.MEMBER):
        return MembershipFactory(organization=org_a, role=role).user

    return make


@pytest.fixture
def demo_owner(live_server):
    """The demo user of `make run` (accounts' demo data), its organization signing with the FIRS
    sandbox on the live server as `create_demo_data` wires it; no platform connected yet."""
    breaker = SharedCircuitBreaker(name=live_server.url.split("//")[1])
    breaker.reset()
    cache.clear()
    square_sandbox_faults_reset()
    demo = demo_data_ensure(operator_password=secrets.token_urlsafe(12), tenant_password=PASSWORD)
    sandbox_organization_connect(
        organization=demo.organization, base_url=f"{live_server.url}/sandbox/firs"
    )
    yield demo.tenant
    breaker.reset()


@pytest.fixture
def page(live_server, monkeypatch):
    """A chromium page on the live server (a test module may offer its own); the test fails if
    the content policy blocked anything on any page it opened."""
    chromium_ready()
    # Playwright's sync API keeps an event loop in this thread; Django would then refuse the
    # test's own (synchronous) database calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Clients keep their connections to the live server open; the thread serving one must not
    # keep a database connection as well, or the test database cannot be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        csp_violations = watch_csp_violations(context)
        yield context.new_page()
        assert_no_csp_violations(context, csp_violations)
        browser.close()
        # The test's own queries inside Playwright's event loop ran on connections of their own.
        connections.close_all()
