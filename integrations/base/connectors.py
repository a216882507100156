"""The contract every platform connector fulfils.

A connector class is declarative: what the platform is and what it can do. An instance is bound
to one connection row and does the platform's HTTP work for it. Models, tasks, admin and
orchestration exist once per family and only ever talk to this interface.
"""

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

FAMILIES = ("crm", "pos", "erp")
AUTH_KINDS = ("oauth2", "api_key", "client_credentials", "basic")


class Capability:
    """Optional features a connector declares; each is read where it changes what we do:
    back-fill and sandbox buttons on the pages, a PKCE challenge in the connect flow."""

    BACKFILL = "backfill"
    PKCE = "pkce"
    SANDBOX = "sandbox"

    ALL = frozenset({BACKFILL, PKCE, SANDBOX})


@dataclass(frozen=True)
class WebhookEvent:
    """One event out of a verified delivery: enough to store it and deduplicate it."""

    event_id: str
    event_type: str
    account_id: str
    object_id: str
    payload: Mapping


class BaseConnector(ABC):
    key: str = ""
    family: str = ""
    display_name: str = ""
    auth: str = ""
    capabilities: frozenset[str] = frozenset()
    authorize_url: str = ""
    token_url: str = ""
    scopes: tuple[str, ...] = ()
    default_base_url: str = ""

    REQUIRED_ATTRIBUTES = ("key", "family", "display_name", "auth")

    def __init__(self, connection):
        self.connection = connection

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
        if cls.auth and cls.auth not in AUTH_KINDS:
            problems.append(f"auth {cls.auth!r} is not one of {AUTH_KINDS}")
        unknown = set(cls.capabilities) - Capability.ALL
        if unknown:
            problems.append(f"unknown capabilities {sorted(unknown)}")
        if cls.auth == "oauth2" and not (cls.authorize_url and cls.token_url):
            problems.append("an oauth2 connector declares authorize_url and token_url")
        if inspect.isabstract(cls):
            problems.append(f"abstract methods not implemented: {sorted(cls.__abstractmethods__)}")
        return problems

    @classmethod
    @abstractmethod
    def verify_webhook(
        cls, *, headers: Mapping[str, str], body: bytes, secret: str, url: str, method: str = "POST"
    ) -> bool:
        """True only when the delivery is signed with ``secret``; compares in constant time."""

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
        takes a fetch. Events of one subject are worked by one task: the others wait on it."""
        return ""

    @abstractmethod
    def test_connection(self) -> None:
        """Make one cheap authenticated call; raise ConnectorError when it fails."""


@dataclass(frozen=True)
class TokenSet:
    """What an OAuth token exchange gives a connection; stored encrypted, never logged."""

    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    account_id: str = ""
    scopes: tuple[str, ...] = ()


class OAuthConnector(BaseConnector):
    """A connector whose accounts connect through an OAuth 2 authorization-code flow."""

    auth = "oauth2"
    # Refresh this long before the access token expires; None: OAUTH_REFRESH_MARGIN_SECONDS.
    token_refresh_margin_seconds: int | None = None

    @abstractmethod
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        """Where to send the user to grant access; ``code_challenge`` (S256) when PKCE is used."""

    @abstractmethod
    def tokens_from_code(
        self, *, code: str, redirect_uri: str, code_verifier: str = ""
    ) -> TokenSet:
        """Exchange the authorization code; raises ConnectorError when the platform refuses."""

    @abstractmethod
    def tokens_refresh(self, *, refresh_token: str) -> TokenSet:
        """New tokens from the refresh token; AuthenticationError when it was revoked."""

    @abstractmethod
    def tokens_revoke(self, *, access_token: str) -> None:
        """Tell the platform to forget the grant."""
