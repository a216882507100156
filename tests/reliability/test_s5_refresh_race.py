"""S5: the token refresh race, for every OAuth platform against its sandbox over real HTTP
(live_server).

50 threads, each with its own PostgreSQL connection, need an expired connection's token at once:
the connection's row lock lets exactly one of them refresh, and the others use its tokens. A
process killed (SIGKILL) after the platform answered the refresh and before the new tokens were
saved leaves the old refresh token stored: where the platform's refresh tokens are single-use,
the next need is refused by the platform and the connection then says "re-authorise" (after at
most one try) and its owners are mailed, instead of retrying a dead token silently.
"""

import json
import subprocess
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.core.signals import request_started
from django.db import connections as db_connections
from django.utils import timezone

from integrations.base import connections, families, registry
from integrations.base.connectors import Capability
from integrations.base.errors import AuthenticationError
from integrations.base.sandbox_accounts import sandbox_base_url
from tests.contracts.conftest import platforms_with
from tests.contracts.fixtures.base import fixtures_for
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

NEEDS = 50
OAUTH_PLATFORMS = platforms_with(Capability.OAUTH2)


class TokenCalls:
    """Requests reaching the platform's token endpoint on the live server (the sandbox)."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, sender, environ=None, **kwargs):
        if environ and environ.get("PATH_INFO", "").endswith(self.path):
            with self._lock:
                self.count += 1


@pytest.fixture
def token_calls(platform, live_server):
    connector = registry.get(platform)
    counter = TokenCalls(urlsplit(connector.oauth_backend.ACCESS_TOKEN_URL).path)
    request_started.connect(counter, weak=False)
    yield counter
    request_started.disconnect(counter)


@pytest.fixture
def expired_connection(platform, live_server, settings):
    """A connection holding a fresh grant's tokens whose access token has expired."""
    connector = registry.get(platform)
    contract = fixtures_for(platform, connector)
    app = contract.oauth_app(site_url=live_server.url, settings=settings)
    base_url = sandbox_base_url(site_url=live_server.url, platform=platform)
    bound = connector(contract.unsaved_connection(base_url=base_url, credentials={}))
    verifier, challenge = connections.pkce_pair()
    uses_pkce = Capability.PKCE in connector.capabilities
    url = bound.authorization_url(
        state="s5", redirect_uri=app.redirect_uri, code_challenge=challenge if uses_pkce else ""
    )
    consent = requests.get(url, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    tokens = bound.tokens_from_code(
        code=code, redirect_uri=app.redirect_uri, code_verifier=verifier if uses_pkce else ""
    )
    model = families.get(connector.family).connection_model
    owner = MembershipFactory(role="owner")
    return model.objects.create(
        **{model.platform_field: platform},
        organization=owner.organization,
        user=owner.user,
        account_id=tokens.account_id,
        base_url=base_url,
        is_sandbox=True,
        credentials_encrypted=json.dumps(
            {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        ),
        token_expires_at=timezone.now() - timedelta(minutes=1),
        webhook_secret="",
    )


def _access_token(connection) -> str:
    return json.loads(connection.credentials_encrypted)["access_token"]


@pytest.mark.parametrize("platform", OAUTH_PLATFORMS)
def test_fifty_concurrent_needs_make_one_refresh(platform, expired_connection, token_calls):
    model = type(expired_connection)
    stale = _access_token(expired_connection)
    start = threading.Barrier(NEEDS)
    used, failures = [], []

    def need():
        try:
            row = model.objects.get(pk=expired_connection.pk)
            start.wait(timeout=30)
            used.append(_access_token(connections.connector_for(row).connection))
        except AuthenticationError as error:
            failures.append(f"refused: {error}")
        except Exception as error:
            failures.append(repr(error))
        finally:
            db_connections.close_all()

    threads = [threading.Thread(target=need) for _ in range(NEEDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    expired_connection.refresh_from_db()
    print(
        f"S5 {platform}: refresh calls in the race {token_calls.count} for {NEEDS} concurrent "
        f"needs; refused (invalid_grant) {sum('refused' in f for f in failures)}; "
        f"distinct tokens used {len(set(used))}"
    )
    assert failures == []
    assert token_calls.count == 1
    assert len(used) == NEEDS and set(used) == {_access_token(expired_connection)} != {stale}
    assert expired_connection.health == model.Health.CONNECTED


# Runs in a child process: refreshes the connection's token and is killed once the platform has
# answered, before the new tokens are saved.
CRASHING_REFRESH = """
import json, os, signal, sys
import django
django.setup()
from django.conf import settings
from integrations.base import connections, families, registry
platform, family, pk = sys.argv[1:4]
settings.PLATFORM_APPS[platform].update(json.loads(os.environ["S5_PLATFORM_APP"]))
connector = registry.get(platform)
real_refresh = connector.tokens_refresh
def refresh_then_die(self, **kwargs):
    real_refresh(self, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
connector.tokens_refresh = refresh_then_die
row = families.get(family).connection_model.objects.get(pk=pk)
connections.connection_tokens_refresh(connection=row)
"""


@pytest.mark.parametrize("platform", OAUTH_PLATFORMS)
def test_a_crash_between_refresh_and_save_ends_in_reauthorise_not_a_silent_failure(
    platform, expired_connection, token_calls, settings, process_env, python_bin
):
    connector = registry.get(platform)
    model = type(expired_connection)
    stored_before = expired_connection.credentials_encrypted
    arguments = [platform, connector.family, str(expired_connection.pk)]
    child = subprocess.run(
        [python_bin, "-c", CRASHING_REFRESH, *arguments],
        env=process_env(S5_PLATFORM_APP=json.dumps(settings.PLATFORM_APPS[platform])),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    assert token_calls.count == 1
    expired_connection.refresh_from_db()
    assert expired_connection.credentials_encrypted == stored_before

    tries_before_flagged = 0
    outcome = "still failing, not flagged"
    for _ in range(3):
        row = model.objects.get(pk=expired_connection.pk)
        if row.health == model.Health.NEEDS_REAUTH:
            outcome = "re-authorise"
            break
        tries_before_flagged += 1
        try:
            connections.connector_for(row)
        except AuthenticationError:
            continue
        outcome = "refreshed"
        break
    expired_connection.refresh_from_db()
    print(
        f"S5 {platform} crash after refresh: {outcome} after {tries_before_flagged} "
        f"{'try' if tries_before_flagged == 1 else 'tries'} "
        f"(refresh tokens {'single-use' if connector.refresh_token_rotates else 'reusable'})"
    )
    if connector.refresh_token_rotates:
        assert outcome == "re-authorise" and tries_before_flagged <= 1
        assert expired_connection.health == model.Health.NEEDS_REAUTH
        assert expired_connection.last_error.startswith("Re-authorise")
        # The alert: the organization's owner is mailed, once.
        assert [message.to for message in mail.outbox] == [[expired_connection.user.email]]
    else:
        # The platform keeps the refresh token: the next need refreshes and goes on.
        assert tries_before_flagged == 1
        assert expired_connection.health == model.Health.CONNECTED
        assert expired_connection.credentials_encrypted != stored_before
        # A platform whose tokens carry no lifetime (Salesforce) stores none.
        expires_at = expired_connection.token_expires_at
        assert expires_at is None or expires_at > timezone.now()
