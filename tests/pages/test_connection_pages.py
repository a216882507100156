"""The Integrations page's connection actions, the same for every family and platform: a card per
registered platform with its state and its ways to connect, connecting (a sandbox account, OAuth
to the platform or to our sandbox), disconnecting, testing, back-fills and their sync run pages.
Each family's own pages and cards are in tests/pages/test_<family>_pages.py."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from celery.app.task import Task
from django.utils import timezone

from accounts.models import Membership
from integrations.base import connections, families, registry, sandbox_accounts
from integrations.base.connectors import Capability
from integrations.base.models import OAuthState, SyncRun
from integrations.base.page_selectors import FAMILY_PAGES
from integrations.base.sandbox_accounts import sandbox_base_url
from tests.factories import CRMConnectionFactory, POSConnectionFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class FamilyKit:
    """What the shared page tests need of a family; a new family adds its line to KITS."""

    family: str
    connection_factory: type


KITS = {
    "pos": FamilyKit("pos", POSConnectionFactory),
    "crm": FamilyKit("crm", CRMConnectionFactory),
}


def _platforms(capability: str = "") -> list[tuple[str, str]]:
    return sorted(
        (connector.family, key)
        for key, connector in registry.all_connectors().items()
        if connector.family in KITS and (not capability or capability in connector.capabilities)
    )


def _sandboxed() -> list[tuple[str, str]]:
    """The platforms a sandbox app provisions accounts of."""
    return [(family, key) for family, key in _platforms() if sandbox_accounts.provisioner_for(key)]


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _card(response, platform: str):
    [card] = [
        card
        for family in response.context["families"]
        for card in family.platforms
        if card.key == platform
    ]
    return card


@pytest.fixture(params=sorted(KITS))
def kit(request) -> FamilyKit:
    return KITS[request.param]


@pytest.fixture
def connection_a(kit, org_a):
    return kit.connection_factory(organization=org_a)


@pytest.fixture
def queued(monkeypatch):
    """(task name, kwargs, queue) of every task the pages publish (none is run)."""
    sent = []
    monkeypatch.setattr(
        Task,
        "apply_async",
        lambda self, *a, kwargs=None, queue=None, **kw: sent.append((self.name, kwargs, queue)),
    )
    return sent


# --- cards ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "platform"), _platforms())
def test_each_platform_has_a_card_with_its_state_and_ways_to_connect(
    client_a, org_a, org_b, family, platform
):
    connector = registry.get(platform)
    page = client_a.get("/integrations/")
    html = page.content.decode()
    assert page.status_code == 200
    assert _card(page, platform).state == "not_connected"
    assert f'action="/integrations/{family}/{platform}/connect/"' in html
    oauth = Capability.OAUTH2 in connector.capabilities
    sandbox = sandbox_accounts.provisioner_for(platform) is not None
    assert (f"Connect {connector.display_name}</button>" in html) == oauth
    assert ("Try with a sandbox account" in html) == sandbox
    assert (f"Connect via our {connector.display_name} sandbox" in html) == (oauth and sandbox)

    factory = KITS[family].connection_factory
    platform_field = families.get(family).connection_model.platform_field
    failing = factory(
        organization=org_a, health="failing", last_error="401 from it", **{platform_field: platform}
    )
    factory(
        organization=org_a, health="disconnected", is_active=False, **{platform_field: platform}
    )
    factory(organization=org_b, **{platform_field: platform})
    page = client_a.get("/integrations/")
    card = _card(page, platform)
    assert card.state == "failing"
    assert [connection.pk for connection in card.connections] == [failing.pk]
    assert "401 from it" in page.content.decode()


# --- connecting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "platform"), _sandboxed())
def test_connecting_a_sandbox_account_from_the_page(client_a, org_a, family, platform):
    connector = registry.get(platform)

    response = client_a.post(
        f"/integrations/{family}/{platform}/connect/", {"method": "sandbox"}, follow=True
    )

    connection = families.get(family).connection_model.objects.get(organization=org_a)
    assert response.redirect_chain == [(f"/integrations/#connection-{connection.pk}", 302)]
    assert connection.is_sandbox and connection.is_active
    [message] = _messages(response)
    assert message.startswith(f"Connected a {connector.display_name} sandbox account")
    html = response.content.decode()
    assert connection.webhook_url in html
    if Capability.SECRET_URL_WEBHOOKS not in connector.capabilities:
        # A secret-URL platform's secret is in the URL the tenant gives it; no other shows.
        assert connection.webhook_secret not in html


OAUTH_WAYS = [
    (family, platform, method)
    for family, platform in _platforms(Capability.OAUTH2)
    for method in ("oauth", "sandbox_oauth")
    if method == "oauth" or sandbox_accounts.provisioner_for(platform)
]


@pytest.mark.parametrize(("family", "platform", "method"), OAUTH_WAYS)
def test_connecting_through_oauth_sends_the_browser_to_authorize(
    client_a, family, platform, method
):
    authorize_url = registry.get(platform).oauth_backend.AUTHORIZATION_URL
    if method == "sandbox_oauth":
        # Our sandbox serves the platform's paths under its base URL.
        base_url = sandbox_base_url(site_url="http://testserver", platform=platform)
        authorize_url = f"{base_url}{urlsplit(authorize_url).path}"

    response = client_a.post(f"/integrations/{family}/{platform}/connect/", {"method": method})

    state = OAuthState.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith(f"{authorize_url}?")
    assert parse_qs(urlsplit(response["Location"]).query)["state"] == [state.state]
    assert (state.family, state.session_key) == (family, client_a.session.session_key)
    assert state.redirect_uri == (
        f"http://testserver/integrations/oauth/{family}/{platform}/callback/"
    )


def test_connecting_a_platform_of_no_or_another_family_is_not_found(client_a, kit):
    others = [key for key, c in registry.all_connectors().items() if c.family != kit.family]
    for platform in ["nope", *others]:
        response = client_a.post(
            f"/integrations/{kit.family}/{platform}/connect/", {"method": "oauth"}
        )
        assert response.status_code == 404, platform


@pytest.mark.parametrize(("family", "platform"), _sandboxed())
def test_a_way_to_connect_the_site_does_not_offer_is_refused(client_a, settings, family, platform):
    settings.SANDBOX_ENABLED = False

    response = client_a.post(f"/integrations/{family}/{platform}/connect/", {"method": "sandbox"})

    assert response.status_code == 400
    assert not families.get(family).connection_model.objects.exists()
    assert "sandbox" not in client_a.get("/integrations/").content.decode().lower()


# --- a connection's actions -----------------------------------------------------------------------


def test_disconnecting_takes_the_connection_off_the_page(client_a, kit, connection_a):
    actions = f"/integrations/{kit.family}/connections/{connection_a.pk}"

    response = client_a.post(f"{actions}/disconnect/", follow=True)

    connection_a.refresh_from_db()
    assert (connection_a.health, connection_a.is_active) == ("disconnected", False)
    assert connection_a.credentials_encrypted == ""
    assert _card(response, connection_a.platform).connections == []
    # Nothing can be done with it any more.
    assert client_a.post(f"{actions}/test/").status_code == 404


def test_a_failing_test_says_what_the_platform_answered(client_a, kit, connection_a):
    # The factory's sandbox URL points at a closed port.
    response = client_a.post(
        f"/integrations/{kit.family}/connections/{connection_a.pk}/test/", follow=True
    )

    [message] = _messages(response)
    assert message.startswith("The test failed; the platform answered:")
    connection_a.refresh_from_db()
    assert connection_a.health == "failing"


def test_a_back_fill_covers_whole_local_days_on_the_batch_queue(
    client_a, kit, connection_a, queued, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"/integrations/{kit.family}/connections/{connection_a.pk}/backfill/",
            {"date_from": (today - timedelta(days=3)).isoformat(), "date_to": today.isoformat()},
        )

    run = SyncRun.objects.get()
    assert run.family == kit.family
    assert response["Location"] == f"/{FAMILY_PAGES[kit.family].namespace}/sync-runs/{run.pk}/"
    assert queued == [(f"{kit.family}.backfill", {"sync_run_id": str(run.pk)}, "batch")]
    start = timezone.localtime(run.window_start)
    assert (start.date(), start.hour, start.minute) == (today - timedelta(days=3), 0, 0)
    assert run.window_end <= timezone.now()
    # The connection's card links its recent runs.
    assert f'href="{response["Location"]}"' in client_a.get("/integrations/").content.decode()


def test_a_back_fill_window_must_run_forwards(client_a, kit, connection_a, queued):
    today = timezone.localdate()

    response = client_a.post(
        f"/integrations/{kit.family}/connections/{connection_a.pk}/backfill/",
        {"date_from": today.isoformat(), "date_to": (today - timedelta(days=1)).isoformat()},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "The first day must not be after the last." in html
    assert f'id="backfill-{connection_a.pk}-date_from"' in html
    assert not SyncRun.objects.exists() and queued == []


@pytest.mark.parametrize(
    ("status", "polls"),
    [("queued", True), ("running", True), ("succeeded", False), ("failed", False)],
)
def test_sync_run_progress_polls_until_the_run_has_finished(
    client_a, kit, connection_a, status, polls
):
    pages = FAMILY_PAGES[kit.family]
    run = SyncRun.objects.create(
        family=kit.family,
        platform=connection_a.platform,
        connection_id=connection_a.pk,
        organization=connection_a.organization,
        kind=SyncRun.Kind.BACKFILL,
        status=status,
        pages=3,
        rows=120,
        errors=1,
    )
    path = f"/{pages.namespace}/sync-runs/{run.pk}/"

    page = client_a.get(path)
    partial = client_a.get(path, HTTP_HX_REQUEST="true")

    assert "<html" in page.content.decode() and "<html" not in partial.content.decode()
    for response in (page, partial):
        html = response.content.decode()
        assert ('hx-trigger="every 1s"' in html) == polls
        assert f"<dt>{pages.rows_noun.capitalize()}s</dt><dd>120</dd>" in html
    # The last answer tells screen readers how it ended.
    assert ('hx-swap-oob="innerHTML:#sync-run-status"' in partial.content.decode()) != polls
    # Another family's page of runs does not know it.
    for other in FAMILY_PAGES.values():
        if other is not pages:
            assert client_a.get(f"/{other.namespace}/sync-runs/{run.pk}/").status_code == 404


def test_renaming_a_connection_names_it_on_the_pages(client_a, kit, connection_a, member_a):
    actions = f"/integrations/{kit.family}/connections/{connection_a.pk}"

    response = client_a.post(f"{actions}/rename/", {"name": "  Lekki   Phase 1 "}, follow=True)

    connection_a.refresh_from_db()
    assert connection_a.display_name == "Lekki Phase 1"
    assert "Renamed to Lekki Phase 1." in response.content.decode()
    assert "Lekki Phase 1</h4>" in response.content.decode()
    refused = client_a.post(f"{actions}/rename/", {"name": "x" * 101}, follow=True)
    assert "at most 100 characters" in refused.content.decode()
    client_a.post(f"{actions}/rename/", {"name": ""})
    connection_a.refresh_from_db()
    assert connection_a.display_name == "" and connection_a.name != ""

    client_a.force_login(member_a(Membership.Role.MEMBER))
    assert client_a.post(f"{actions}/rename/", {"name": "Mine"}).status_code == 403


@pytest.mark.parametrize(
    ("family", "platform", "name", "rows"),
    [("crm", "hubspot", "HubSpot", "won deals"), ("pos", "square", "Square", "sales")],
)
def test_the_oauth_result_page_has_the_site_layout_and_names_the_family(
    client_a, org_a, monkeypatch, family, platform, name, rows
):
    factory = {"crm": CRMConnectionFactory, "pos": POSConnectionFactory}[family]
    connection = factory(organization=org_a, account_id="ACC-77", display_name="Head office")
    monkeypatch.setattr(connections, "oauth_complete", lambda **_: connection)
    callback = f"/integrations/oauth/{family}/{platform}/callback/"

    page = client_a.get(callback, {"state": "s", "code": "c"}).content.decode()

    assert 'aria-label="Main"' in page  # the site's layout, navigation included
    assert f'<h1 id="oauth-result-heading">{name} connected</h1>' in page
    assert f"{name} account Head office is connected" in page
    assert f"Its {rows} now become e-invoices." in page
    assert f'href="/integrations/#connection-{connection.pk}"' in page
    refused = client_a.get(callback, {"error": "access_denied"})
    assert refused.status_code == 400
    assert f"{name} not connected" in refused.content.decode()
    assert "The platform answered: access_denied" in refused.content.decode()
