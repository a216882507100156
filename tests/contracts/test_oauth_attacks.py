"""The OAuth attack matrix (RFC 9700) for every OAuth platform, against its sandbox over real HTTP
(live_server): each malicious callback is answered 400 and links no account, while the
legitimate flow beside it connects.

A platform joins by being registered with the oauth2 capability and giving ``oauth_app`` in its
contract fixtures; the cross-platform probes go to every other registered platform's redirect
URI. The figure printed is accepted malicious callbacks of (probes over cases x platforms).
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.base import connections, families, registry
from integrations.base.connectors import Capability
from integrations.base.models import OAuthState
from integrations.base.sandbox_accounts import sandbox_base_url
from tests.factories import MembershipFactory

CAPABILITY = Capability.OAUTH2

pytestmark = pytest.mark.django_db(transaction=True)

CASES = (
    "missing state",
    "altered state",
    "expired state",
    "reused state",
    "PKCE verifier mismatch",
    "callback on another platform's redirect URI",
    "code replay",
    "login CSRF",
    "redirect URI variant",
)

# (platform, case) -> (accepted probes, probes); summed when the module ends.
FIGURES: dict[tuple[str, str], tuple[int, int]] = {}


@pytest.fixture(scope="module", autouse=True)
def s4_figure():
    yield
    accepted = sum(hit for hit, _ in FIGURES.values())
    probes = sum(total for _, total in FIGURES.values())
    platforms = sorted({platform for platform, _ in FIGURES})
    print(
        f"\nS4 accepted malicious callbacks {accepted} of {probes} probes "
        f"({len(CASES)} cases x {len(platforms)} platforms: {', '.join(platforms)})"
    )


class Tenant:
    """An organization's owner signed in in a browser of their own."""

    def __init__(self):
        self.user = MembershipFactory(role="owner").user
        self.organization = self.user.memberships.get().organization
        self.browser = Client()
        self.browser.force_login(self.user)

    @property
    def session_key(self) -> str:
        return self.browser.session.session_key


class Harness:
    """One platform's connect flow, step by step, so each attack can bend one step."""

    def __init__(self, *, platform, connector, app, base_url):
        self.platform = platform
        self.connector = connector
        self.app = app
        self.base_url = base_url
        self.model = families.get(connector.family).connection_model
        self.callback_path = urlsplit(app.redirect_uri).path

    def start(self, tenant: Tenant) -> tuple[str, str]:
        """(state, authorize URL) of a connect attempt begun in the tenant's browser."""
        url = connections.oauth_start(
            family=self.connector.family,
            platform=self.platform,
            organization=tenant.organization,
            user=tenant.user,
            session_key=tenant.session_key,
            redirect_uri=self.app.redirect_uri,
            sandbox_base_url=self.base_url,
        )
        return parse_qs(urlsplit(url).query)["state"][0], url

    @staticmethod
    def consent(url: str) -> str | None:
        """The code the platform's consent page sends back, None when it refuses the request."""
        answer = requests.get(url, allow_redirects=False, timeout=10)
        if answer.status_code != 302:
            return None
        return parse_qs(urlsplit(answer.headers["Location"]).query).get("code", [None])[0]

    def code_for(self, tenant: Tenant) -> tuple[str, str]:
        state, url = self.start(tenant)
        code = self.consent(url)
        assert code, f"{self.platform}'s sandbox gave no code to a legitimate request"
        return state, code

    def callback(self, tenant: Tenant, params: dict, *, path: str = ""):
        return tenant.browser.get(path or self.callback_path, params)

    def connected(self, tenant: Tenant) -> int:
        return self.model.objects.filter(organization=tenant.organization).count()


@pytest.fixture
def harness(platform, connector, contract, live_server, settings):
    app = contract.oauth_app(site_url=live_server.url, settings=settings)
    base_url = sandbox_base_url(site_url=live_server.url, platform=platform)
    return Harness(platform=platform, connector=connector, app=app, base_url=base_url)


def _accepted(harness: Harness, tenant: Tenant, answer, connected_before: int) -> bool:
    return answer.status_code < 400 or harness.connected(tenant) != connected_before


def _probe(harness: Harness, tenant: Tenant, params: dict, *, path: str = "") -> bool:
    """Send one malicious callback in the tenant's browser; True when it was accepted."""
    before = harness.connected(tenant)
    answer = harness.callback(tenant, params, path=path)
    return _accepted(harness, tenant, answer, before)


def _legitimate(harness: Harness, tenant: Tenant, state: str, code: str) -> None:
    before = harness.connected(tenant)
    answer = harness.callback(tenant, {"state": state, "code": code})
    assert answer.status_code == 200, answer.content.decode()[:500]
    assert harness.connected(tenant) == before + 1


def _missing_state(harness, tenant):
    _state, code = harness.code_for(tenant)
    return [
        _probe(harness, tenant, {"code": code}),
        _probe(harness, tenant, {"code": code, "state": ""}),
    ]


def _altered_state(harness, tenant):
    state, code = harness.code_for(tenant)
    flipped = ("A" if state[-1] != "A" else "B") + state[1:]
    return [
        _probe(harness, tenant, {"state": flipped, "code": code}),
        _probe(harness, tenant, {"state": state[:-1], "code": code}),
        _probe(harness, tenant, {"state": state + "x", "code": code}),
    ]


def _expired_state(harness, tenant):
    state, code = harness.code_for(tenant)
    OAuthState.objects.filter(state=state).update(expires_at=timezone.now() - timedelta(seconds=1))
    return [_probe(harness, tenant, {"state": state, "code": code})]


def _reused_state(harness, tenant):
    state, code = harness.code_for(tenant)
    _legitimate(harness, tenant, state, code)
    _other_state, fresh_code = harness.code_for(tenant)
    return [
        _probe(harness, tenant, {"state": state, "code": code}),
        _probe(harness, tenant, {"state": state, "code": fresh_code}),
    ]


def _pkce_verifier_mismatch(harness, tenant):
    if Capability.PKCE not in harness.connector.capabilities:
        return []
    state, code = harness.code_for(tenant)
    other_verifier, _challenge = connections.pkce_pair()
    OAuthState.objects.filter(state=state).update(code_verifier=other_verifier)
    return [_probe(harness, tenant, {"state": state, "code": code})]


def _other_redirect_uris(harness: Harness) -> list[str]:
    """Every other platform's callback path, and this platform's under every other family."""
    paths = [
        reverse("oauth-callback", kwargs={"family": other.family, "platform": key})
        for key, other in sorted(registry.all_connectors().items())
        if key != harness.platform
    ]
    paths += [
        reverse("oauth-callback", kwargs={"family": family, "platform": harness.platform})
        for family in sorted(family.name for family in families.registered())
        if family != harness.connector.family
    ]
    return paths


def _callback_on_another_platforms_redirect_uri(harness, tenant):
    hits = []
    for path in _other_redirect_uris(harness):
        state, code = harness.code_for(tenant)
        hits.append(_probe(harness, tenant, {"state": state, "code": code}, path=path))
    return hits


def _code_replay(harness, tenant):
    state, code = harness.code_for(tenant)
    _legitimate(harness, tenant, state, code)
    new_state, _url = harness.start(tenant)
    return [_probe(harness, tenant, {"state": new_state, "code": code})]


def _login_csrf(harness, victim):
    """The attacker's own state and code, fed to the victim's browser: the victim's organization
    must not be linked to the attacker's account (nor the attacker's to the victim's)."""
    attacker = Tenant()
    state, code = harness.code_for(attacker)
    attacker_before = harness.connected(attacker)
    hit = _probe(harness, victim, {"state": state, "code": code})
    return [hit or harness.connected(attacker) != attacker_before]


def _redirect_uri_variant(harness, tenant):
    """A code the platform issues for a redirect URI other than ours (a trailing slash less, an
    extra query): the exchange names our exact URI, so the code must not connect."""
    hits = []
    exact = harness.app.redirect_uri
    for variant in (exact.rstrip("/"), f"{exact}?next=https://attacker.example/"):
        state, url = harness.start(tenant)
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        bent = urlunsplit(parts._replace(query=urlencode({**query, "redirect_uri": variant})))
        code = harness.consent(bent)
        hits.append(bool(code) and _probe(harness, tenant, {"state": state, "code": code}))
    return hits


ATTACKS = {
    "missing state": _missing_state,
    "altered state": _altered_state,
    "expired state": _expired_state,
    "reused state": _reused_state,
    "PKCE verifier mismatch": _pkce_verifier_mismatch,
    "callback on another platform's redirect URI": _callback_on_another_platforms_redirect_uri,
    "code replay": _code_replay,
    "login CSRF": _login_csrf,
    "redirect URI variant": _redirect_uri_variant,
}


@pytest.mark.parametrize("case", CASES)
def test_a_malicious_callback_is_refused_and_links_nothing(platform, harness, case):
    tenant = Tenant()
    hits = ATTACKS[case](harness, tenant)
    FIGURES[(platform, case)] = (sum(hits), len(hits))
    print(f"S4 {platform} / {case}: accepted {sum(hits)} of {len(hits)}")
    if not hits:
        pytest.skip(f"{platform} has no {case} to try")
    assert sum(hits) == 0


def test_the_legitimate_flow_connects(harness):
    """The control: the matrix's refusals are the attacks', not a broken flow's."""
    tenant = Tenant()
    state, code = harness.code_for(tenant)
    _legitimate(harness, tenant, state, code)
    assert OAuthState.objects.get(state=state).used_at is not None
