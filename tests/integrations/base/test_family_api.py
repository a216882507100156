"""The integration API every family shares, run for each family (and each of its platforms where
the behaviour is a platform's): connecting, listing and editing connections, back-fills, source
rows and their retries, scoped to the caller's organization (T1) and to their role. Each family's
own fields and rows are in its tests/integrations/<family>/test_api.py."""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from celery.app.task import Task

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.base import families, registry, sandbox_accounts
from integrations.base.connectors import Capability
from integrations.base.models import OAuthState, SyncRun
from tests.factories import (
    CRMConnectionFactory,
    CRMDealFactory,
    MembershipFactory,
    POSConnectionFactory,
    POSTransactionFactory,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class FamilyKit:
    """What the shared tests need of a family; a new family adds its line to KITS."""

    family: str
    # The path segment of its source rows' API.
    rows: str
    connection_factory: type
    row_factory: type


KITS = {
    "pos": FamilyKit("pos", "transactions", POSConnectionFactory, POSTransactionFactory),
    "crm": FamilyKit("crm", "deals", CRMConnectionFactory, CRMDealFactory),
}


def _platforms(capability: str) -> list[tuple[str, str]]:
    return sorted(
        (connector.family, key)
        for key, connector in registry.all_connectors().items()
        if capability in connector.capabilities and connector.family in KITS
    )


def _sandboxed() -> list[tuple[str, str]]:
    """The platforms a sandbox app provisions accounts of."""
    return sorted(
        (connector.family, key)
        for key, connector in registry.all_connectors().items()
        if sandbox_accounts.provisioner_for(key) and connector.family in KITS
    )


def _auth(client, user):
    issued = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return client


def _role_client(api_client, organization, role):
    return _auth(api_client, MembershipFactory(organization=organization, role=role).user)


@pytest.fixture(params=sorted(KITS))
def kit(request) -> FamilyKit:
    return KITS[request.param]


@pytest.fixture
def base(kit) -> str:
    return f"/api/v1/integrations/{kit.family}"


@pytest.fixture
def client_a(api_client, owner_a):
    return _auth(api_client, owner_a)


@pytest.fixture
def connection_a(kit, org_a):
    return kit.connection_factory(organization=org_a)


@pytest.fixture
def connection_b(kit, org_b):
    return kit.connection_factory(organization=org_b)


@pytest.fixture
def queued(monkeypatch):
    """(task name, queue) of every task published (none is run)."""
    sent = []
    monkeypatch.setattr(
        Task, "apply_async", lambda self, *a, queue=None, **kw: sent.append((self.name, queue))
    )
    return sent


# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "platform"), _sandboxed())
def test_connecting_a_sandbox_account_makes_a_connection_at_once(client_a, org_a, family, platform):
    response = client_a.post(f"/api/v1/integrations/{family}/{platform}/connect", {"sandbox": True})

    assert response.status_code == 201
    body = response.json()["connection"]
    connection = families.get(family).connection_model.objects.get(pk=body["id"])
    assert connection.organization == org_a and connection.is_sandbox
    endpoint = f"http://testserver/webhooks/{family}/{platform}/{connection.pk}/"
    assert body["has_signing_secret"] is True
    assert "signing_secret" not in body
    if Capability.SECRET_URL_WEBHOOKS in registry.get(platform).capabilities:
        # Unsigned deliveries: the secret is the URL's, which the tenant gives the platform.
        assert body["webhook_url"] == f"{endpoint}{connection.webhook_secret}/"
    else:
        assert body["webhook_url"] == endpoint
        assert connection.webhook_secret not in response.content.decode()


@pytest.mark.parametrize(("family", "platform"), _platforms(Capability.OAUTH2))
def test_connecting_through_oauth_answers_the_platforms_authorize_url(
    client_a, org_a, family, platform
):
    connector = registry.get(platform)

    response = client_a.post(f"/api/v1/integrations/{family}/{platform}/connect", {})

    assert response.status_code == 200
    url = response.json()["authorize_url"]
    state = OAuthState.objects.get()
    assert url.startswith(f"{connector.oauth_backend.AUTHORIZATION_URL}?")
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == [state.state]
    assert query["redirect_uri"] == [
        f"http://testserver/integrations/oauth/{family}/{platform}/callback/"
    ]
    if Capability.PKCE in connector.capabilities:
        assert query["code_challenge_method"] == ["S256"]
    assert (state.family, state.platform, state.organization) == (family, platform, org_a)
    assert state.session_key
    # Without PKCE there is no verifier to leak; with it, it never leaves the server.
    assert not state.code_verifier or state.code_verifier not in url


def test_connecting_a_platform_of_no_or_another_family_is_not_found(client_a, kit, base):
    others = [key for key, c in registry.all_connectors().items() if c.family != kit.family]
    for platform in ["not-registered", *others]:
        response = client_a.post(f"{base}/{platform}/connect", {"sandbox": True})
        assert response.status_code == 404, platform


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_only_owners_and_admins_connect(api_client, org_a, kit, base, role):
    platform = next(iter(registry.for_family(kit.family)))
    client = _role_client(api_client, org_a, role)

    response = client.post(f"{base}/{platform}/connect", {"sandbox": True})

    assert response.status_code == 403
    assert not families.get(kit.family).connection_model.objects.exists()


# --- connections ----------------------------------------------------------------------------------


def test_connections_are_listed_for_the_callers_organization_only(
    client_a, base, connection_a, connection_b
):
    response = client_a.get(f"{base}/connections/")

    assert [row["id"] for row in response.json()["results"]] == [str(connection_a.pk)]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("post", "test/"), ("post", "backfill/"), ("post", "disconnect/")],
)
def test_another_organizations_connection_is_not_found(
    client_a, base, connection_b, queued, method, suffix
):
    response = getattr(client_a, method)(
        f"{base}/connections/{connection_b.pk}/{suffix}", {}, format="json"
    )

    assert response.status_code == 404
    connection_b.refresh_from_db()
    assert connection_b.is_active


def test_settings_and_a_write_only_signing_secret_can_be_updated(client_a, base, connection_a):
    response = client_a.patch(
        f"{base}/connections/{connection_a.pk}/",
        {
            "notification_url": "https://hooks.example/webhooks/",
            "signing_secret": "pasted-from-the-console-123",
            "settings": {"default_hs_code": "8471.3000"},
        },
        format="json",
    )

    assert response.status_code == 200
    assert "pasted-from-the-console-123" not in response.content.decode()
    connection_a.refresh_from_db()
    assert connection_a.notification_url == "https://hooks.example/webhooks/"
    assert connection_a.webhook_secret == "pasted-from-the-console-123"
    assert connection_a.connection_settings == {"default_hs_code": "8471.3000"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notification_url", "not a url"),
        ("settings", {"default_hs_code": "<script>"}),
        # Well formed, but not on the FIRS HS code list.
        ("settings", {"default_hs_code": "9999.9999"}),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(client_a, base, connection_a, field, value):
    response = client_a.patch(
        f"{base}/connections/{connection_a.pk}/", {field: value}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_only_owners_and_admins_change_a_connection(api_client, org_a, base, connection_a, role):
    client = _role_client(api_client, org_a, role)

    response = client.patch(
        f"{base}/connections/{connection_a.pk}/",
        {"notification_url": "https://x.example/"},
        format="json",
    )

    assert response.status_code == 403


def test_disconnecting_forgets_the_credentials(client_a, base, connection_a):
    response = client_a.post(f"{base}/connections/{connection_a.pk}/disconnect/")

    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["health"]) == (False, "disconnected")
    connection_a.refresh_from_db()
    assert connection_a.credentials_encrypted == ""


def test_a_platform_that_cannot_be_reached_answers_503_with_retry_after(
    client_a, base, connection_a
):
    response = client_a.post(f"{base}/connections/{connection_a.pk}/test/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert response.json()["code"] == "platform_unavailable"


# --- back-fills -----------------------------------------------------------------------------------


def test_a_backfill_is_queued_on_the_batch_queue(
    client_a, kit, base, connection_a, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"{base}/connections/{connection_a.pk}/backfill/",
            {"start": "2026-08-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
            format="json",
        )

    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert (run.family, run.status, response.json()["id"]) == (kit.family, "queued", str(run.pk))
    assert queued == [(f"{kit.family}.backfill", "batch")]
    assert client_a.get(f"{base}/sync-runs/{run.pk}/").json()["status"] == "queued"


def test_a_backfill_needs_a_window_that_ends_after_it_starts(client_a, base, connection_a, queued):
    response = client_a.post(
        f"{base}/connections/{connection_a.pk}/backfill/",
        {"start": "2026-11-01T00:00:00Z", "end": "2026-08-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert not SyncRun.objects.exists()


def test_viewers_cannot_backfill(api_client, org_a, base, connection_a, queued):
    viewer = _role_client(api_client, org_a, Membership.Role.VIEWER)

    response = viewer.post(
        f"{base}/connections/{connection_a.pk}/backfill/",
        {"start": "2026-08-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


# --- source rows ----------------------------------------------------------------------------------


def test_another_organizations_row_is_not_found(client_a, kit, base, connection_b, queued):
    row = kit.row_factory(connection=connection_b)

    assert client_a.get(f"{base}/{kit.rows}/{row.pk}/").status_code == 404
    assert client_a.post(f"{base}/{kit.rows}/{row.pk}/retry/").status_code == 404
    assert queued == []


def test_viewers_read_rows_but_cannot_retry(api_client, org_a, kit, base, connection_a, queued):
    row = kit.row_factory(connection=connection_a, status="failed")
    viewer = _role_client(api_client, org_a, Membership.Role.VIEWER)

    assert viewer.post(f"{base}/{kit.rows}/{row.pk}/retry/").status_code == 403
    assert viewer.get(f"{base}/{kit.rows}/{row.pk}/").status_code == 200
    assert queued == []
