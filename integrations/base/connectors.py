"""The contract every platform connector fulfils.

A connector class is declarative: what the platform is and what it can do. An instance is bound
to one connection row and does the platform's HTTP work for it. Models, tasks, admin and
orchestration exist once per family and only ever talk to this interface.

What a platform can do is said by the capability mixins it inherits (``Webhooks``, ``Backfill``,
``IncrementalSync``, ``Refunds``, and one way to connect: ``OAuthConnector``, ``ApiKeyConnector``
or ``ClientCredentialsConnector``). Our simulator of a platform is no capability of its connector:
a sandbox app registers its accounts in ``sandbox_accounts``. Each mixin adds its capability to
``capabilities`` and makes its methods required, so a platform without webhooks writes nothing
about them, and one that declares them but misses a method is refused by the registry with the
capability and the method named. A family narrows a mixin with what it needs besides (a POS
platform's webhooks also turn events into sales).
"""

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

FAMILIES = ("crm", "pos", "erp")


class Capability:
    WEBHOOKS = "webhooks"
    SECRET_URL_WEBHOOKS = "secret_url_webhooks"  # noqa: S105 (a capability's name)
    IRN_WRITE_BACK = "irn_write_back"
    BACKFILL = "backfill"
    INCREMENTAL_SYNC = "incremental_sync"
    REFUNDS = "refunds"
    PKCE = "pkce"
    OAUTH2 = "oauth2"
    API_KEY = "api_key"
    CLIENT_CREDENTIALS = "client_credentials"

    # The ways to connect: a connector has exactly one.
    AUTH = frozenset({OAUTH2, API_KEY, CLIENT_CREDENTIALS})


@dataclass(frozen=True)
class WebhookEvent:
    """One event out of a verified delivery: enough to store it and deduplicate it."""

    event_id: str
    event_type: str
    account_id: str
    object_id: str
    payload: Mapping


@dataclass(frozen=True)
class TokenSet:
    """What an OAuth token exchange gives a connection; stored encrypted, never logged."""

    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    account_id: str = ""
    scopes: tuple[str, ...] = ()
    # What else the platform answered that calls need, kept with the tokens and replaced on
    # every refresh (Pipedrive's company API domain).
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CredentialField:
    """One value a tenant types in to connect a platform that takes credentials, not OAuth."""

    name: str
    label: str
    secret: bool = True
    help_text: str = ""


class CapabilityMixin(ABC):  # noqa: B024 (abstract methods come with each capability)
    """A capability: what it adds to ``capabilities`` and, as abstract methods, what it needs."""

    capability: str = ""


class BaseConnector(ABC):
    key: str = ""
    family: str = ""
    display_name: str = ""
    default_base_url: str = ""
    # What the tenant sets up at the platform so that it sends deliveries to the connection's
    # webhook URL, as (label, value) pairs shown on the connection's card; empty when nothing.
    delivery_setup: tuple[tuple[str, str], ...] = ()
    # Columns a new connection of the platform starts with (where the family's model has them),
    # instead of the family's defaults.
    connection_defaults: Mapping[str, object] = {}
    # Filled from the capability mixins the class inherits; never declared by hand.
    capabilities: frozenset[str] = frozenset()

    REQUIRED_ATTRIBUTES = ("key", "family", "display_name")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.capabilities = frozenset(
            klass.capability
            for klass in cls.__mro__
            if issubclass(klass, CapabilityMixin) and klass.capability
        )

    def __init__(self, connection):
        self.connection = connection

    @property
    def credentials(self) -> dict:
        """The connection's stored credentials (tokens or keys), decrypted."""
        text = self.connection.credentials_encrypted
        return json.loads(text) if text else {}

    @property
    def base_url(self) -> str:
        return (self.connection.base_url or self.default_base_url).rstrip("/")

    @classmethod
    def contract_problems(cls) -> list[str]:
        """Why this class cannot be registered; empty when it can."""
        problems = [
            f"{name} is not declared"
            for name in cls.REQUIRED_ATTRIBUTES
            if not getattr(cls, name, "")
        ]
        if cls.family and cls.family not in FAMILIES:
            problems.append(f"family {cls.family!r} is not one of {FAMILIES}")
        ways_to_connect = sorted(cls.capabilities & Capability.AUTH)
        if len(ways_to_connect) != 1:
            problems.append(
                "declares one way to connect (OAuthConnector, ApiKeyConnector or "
                f"ClientCredentialsConnector), not {ways_to_connect or 'none'}"
            )
        for klass in cls.__mro__:
            declared = klass.__dict__.get("declaration_problems")
            if declared is not None and issubclass(klass, CapabilityMixin):
                problems.extend(declared.__func__(cls))
        if inspect.isabstract(cls):
            problems.extend(
                f"{_owner_of(cls, name)} needs {name}(), which {cls.__name__} does not define"
                for name in sorted(cls.__abstractmethods__)
            )
        return problems

    @abstractmethod
    def test_connection(self) -> None:
        """Make one cheap authenticated call; raise ConnectorError when it fails."""


def _owner_of(cls: type, method: str) -> str:
    """Who asks for an abstract method: "capability 'webhooks'" or "every connector"."""
    capabilities = sorted(
        {
            klass.capability
            for klass in cls.__mro__
            if issubclass(klass, CapabilityMixin)
            and not issubclass(klass, BaseConnector)
            and klass.capability
            and getattr(getattr(klass, method, None), "__isabstractmethod__", False)
        }
    )
    if not capabilities:
        return "every connector"
    return "capability " + " and ".join(repr(capability) for capability in capabilities)


# --- capabilities ---------------------------------------------------------------------------------


class _WebhookEvents(ABC):
    """What both kinds of webhooks need: a delivery's body made events."""

    @classmethod
    @abstractmethod
    def parse_webhook(cls, body: bytes) -> Iterable[WebhookEvent]:
        """The events of a verified delivery. Raises MappingError on a malformed body."""

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        """False when the event alone shows there is nothing to do (a pending payment, an open
        order): it is then stored as ignored and never queued. Decided on the event, no HTTP."""
        return True

    @classmethod
    def event_subject(cls, event: WebhookEvent) -> str:
        """The one sale or deal the event is about, read from the event alone, or "" when that
        takes a fetch. Events of one subject are worked by one task: the others wait on it.
        Read at intake, so it never raises, whatever the event holds."""
        return ""


class Webhooks(_WebhookEvents, CapabilityMixin):
    """The platform pushes signed deliveries to us."""

    capability = Capability.WEBHOOKS
    # Whether the check covers the delivery's bytes (an HMAC of the body). False for a platform
    # that only presents credentials we chose (HTTP Basic): then nothing catches a changed body.
    webhook_signs_body: bool = True
    # Whether the check covers the URL the delivery was sent to (Square signs it). False for a
    # platform that signs the body alone (Toast, Lightspeed), so a copy sent elsewhere verifies too.
    webhook_signs_url: bool = True
    # The header naming which delivery attempt this is (Toast-Attempt-Number), logged with what
    # the delivery stored; empty when the platform sends none.
    delivery_attempt_header: str = ""

    def webhooks_subscribe(self) -> None:
        """Subscribe the connection's webhook URL to the platform's events, for a platform that
        is told by API where to deliver and with which credentials; nothing where the
        subscription is made in the platform's console. Called once a connection is stored."""

    def webhooks_unsubscribe(self) -> None:
        """Undo ``webhooks_subscribe``; called on disconnect, before the tokens are forgotten."""

    @classmethod
    @abstractmethod
    def verify_webhook(
        cls, *, headers: Mapping[str, str], body: bytes, secret: str, url: str, method: str = "POST"
    ) -> bool:
        """True only when the delivery is signed with ``secret``; compares in constant time."""


class SecretUrlWebhooks(_WebhookEvents, CapabilityMixin):
    """The platform pushes unsigned deliveries (Odoo's automation webhooks): the endpoint's path
    carries the connection's secret instead (``/webhooks/<family>/<platform>/<id>/<secret>/``).
    A wrong secret is answered 404 and nothing is kept, and a delivery is only a hint to re-read
    the record it names through the API, never data."""

    capability = Capability.SECRET_URL_WEBHOOKS

    @classmethod
    def delivery_answer(cls, *, accepted: bool, reason: str = "") -> tuple[str, bytes] | None:
        """(content type, body) the platform must be answered with, for a platform that reads
        the answer (an acknowledgement it expects word for word); ``reason`` says why a refused
        delivery was refused. None: our JSON answer. The status is ours either way."""
        return None

    @classmethod
    @abstractmethod
    def url_secret_valid(cls, *, presented: str, secret: str) -> bool:
        """True only when the path's ``presented`` secret is the connection's ``secret``;
        compares in constant time, and an empty secret matches nothing."""


class Backfill(CapabilityMixin):
    """Past records can be pulled over a window, page by page. The family says which method."""

    capability = Capability.BACKFILL


class IncrementalSync(CapabilityMixin):
    """Records changed since a cursor can be pulled on a schedule. The family says which method."""

    capability = Capability.INCREMENTAL_SYNC


class Refunds(CapabilityMixin):
    """The platform's refunds become credit notes against the sale they refund."""

    capability = Capability.REFUNDS


class Pkce(CapabilityMixin):
    """The platform's OAuth takes a PKCE (S256) challenge."""

    capability = Capability.PKCE


# --- ways to connect ------------------------------------------------------------------------------


class OAuthConnector(CapabilityMixin):
    """Accounts connect through an OAuth 2 authorization-code flow, run by the one adapter
    (``integrations.base.oauth``) on the platform's social-core backend: a platform gives
    constants, and overrides ``oauth_tokens`` only when its token answer is unusual."""

    capability = Capability.OAUTH2

    # A social-core BaseOAuth2 subclass: the platform's own where social-core has one.
    oauth_backend: type | None = None
    scopes: tuple[str, ...] = ()
    # Whether a refresh answers with a new refresh token (the old one then is spent) or keeps
    # the one it was given. None: not declared, which the registry refuses.
    refresh_token_rotates: bool | None = None
    # Which token the platform's revoke call takes: "access_token" or "refresh_token"; "" for a
    # platform with no revoke call (disconnecting then only forgets the tokens).
    revoke_with: str = "access_token"
    # What the platform's callback names besides code and state that its token calls need (the
    # store whose own host issues the tokens): handed to the backend as request data at the code
    # exchange, merged under the token answer, and read back from the stored credentials after.
    callback_parameters: tuple[str, ...] = ()
    # The token answer's key for the platform's account id (after the backend's user_data).
    account_id_key: str = ""
    # Refresh this long before the access token expires; None: OAUTH_REFRESH_MARGIN_SECONDS.
    token_refresh_margin_seconds: int | None = None
    # For a platform whose accounts sign in on a host of their choosing (a test host, the
    # account's own domain): what the connect page says about the field. Empty: one host.
    login_host_help: str = ""

    @classmethod
    def login_host_checked(cls, value: str) -> str:
        """The OAuth base URL ``value`` names when it is a login host of the platform; ""
        otherwise (and always, for a platform with one login host)."""
        return ""

    @classmethod
    def declaration_problems(cls) -> list[str]:
        from social_core.backends.oauth import BaseOAuth2

        problems = []
        backend = cls.oauth_backend
        if not (isinstance(backend, type) and issubclass(backend, BaseOAuth2)):
            problems.append("capability 'oauth2' needs oauth_backend, a social-core BaseOAuth2")
        elif not (backend.AUTHORIZATION_URL and backend.ACCESS_TOKEN_URL):
            problems.append(
                "capability 'oauth2' needs oauth_backend's AUTHORIZATION_URL and ACCESS_TOKEN_URL"
            )
        if cls.refresh_token_rotates is None:
            problems.append("capability 'oauth2' needs refresh_token_rotates (True or False)")
        if cls.revoke_with not in ("access_token", "refresh_token", ""):
            problems.append(
                "capability 'oauth2' needs revoke_with: access_token, refresh_token or \"\""
            )
        if not cls.account_id_key:
            problems.append("capability 'oauth2' needs account_id_key")
        return problems

    def _oauth(self):
        from integrations.base.oauth import OAuthAdapter

        return OAuthAdapter(self)

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        """Where to send the user to grant access; ``code_challenge`` (S256) when PKCE is used."""
        return self._oauth().authorization_url(
            state=state, redirect_uri=redirect_uri, code_challenge=code_challenge
        )

    def tokens_from_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str = "",
        callback: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """Exchange the authorization code; raises ConnectorError when the platform refuses.
        ``callback`` is the callback's query; only ``callback_parameters`` are read from it."""
        return self._oauth().tokens_from_code(
            code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, callback=callback
        )

    def tokens_refresh(self, *, refresh_token: str) -> TokenSet:
        """New tokens from the refresh token; AuthenticationError when it was revoked."""
        return self._oauth().tokens_refresh(refresh_token=refresh_token)

    def tokens_revoke(self, *, access_token: str) -> None:
        """Tell the platform to forget the grant."""
        self._oauth().tokens_revoke(access_token=access_token)

    def oauth_tokens(self, answer: Mapping, *, received_at: datetime) -> TokenSet:
        """The tokens of a token answer (``user_data`` merged in after a code exchange)."""
        from integrations.base.oauth import token_set

        return token_set(answer, received_at=received_at, connector=self)


class CredentialsConnector(CapabilityMixin):
    """Accounts connect with credentials the tenant types in (``credential_fields``), checked
    against the platform before they are stored, encrypted, on the connection."""

    credential_fields: tuple[CredentialField, ...] = ()

    @classmethod
    def declaration_problems(cls) -> list[str]:
        if not cls.credential_fields:
            return [f"capability {cls.capability!r} needs credential_fields"]
        return []

    @abstractmethod
    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        """Try ``credentials`` against the platform with one cheap call; the account id they
        open. AuthenticationError when the platform refuses them."""


class ApiKeyConnector(CredentialsConnector):
    capability = Capability.API_KEY


class ClientCredentialsConnector(CredentialsConnector):
    capability = Capability.CLIENT_CREDENTIALS
