"""Connecting accounts, for every family: the OAuth dance, credentials a tenant types in (an API
key, a client id and secret) checked against the platform first, token refresh under a
per-connection lock, and disconnecting (which revokes the grant). Sandbox accounts:
sandbox_accounts.py."""

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import HIDDEN_CHANGE, Action, audit_changes, audit_record
from integrations.base import families, registry
from integrations.base.connectors import Capability, CredentialsConnector, OAuthConnector, TokenSet
from integrations.base.errors import AuthenticationError, ConnectorError, PermanentConnectorError
from integrations.base.events import connection_reauthorization_needed
from integrations.base.models import OAuthState


class ConnectError(Exception):
    """A connect attempt that cannot go on; the message is safe to show the user."""


class PlatformUnreachable(ConnectError):
    """The platform could not be asked (down, slow, rate-limited): worth trying again later."""


def webhook_url(*, site_url: str, connection) -> str:
    """The connection's own endpoint; for a platform that signs nothing, with the secret that
    authenticates its deliveries in the path (the URL the tenant gives the platform)."""
    kwargs = {
        "family": connection.family,
        "platform": connection.platform,
        "connection_id": connection.pk,
    }
    name = "webhooks:connection"
    if Capability.SECRET_URL_WEBHOOKS in registry.get(connection.platform).capabilities:
        name, kwargs["secret"] = "webhooks:secret_url", connection.webhook_secret
    return f"{site_url.rstrip('/')}{reverse(name, kwargs=kwargs)}"


# A secret in a URL path: 256 bits, URL-safe.
URL_SECRET_BYTES = 32


def platform_connector(*, family: str, platform: str):
    try:
        connector = registry.get(platform)
    except KeyError:
        raise ConnectError(f"There is no platform {platform!r}.") from None
    if connector.family != family:
        raise ConnectError(f"{connector.display_name} is not a {family.upper()} platform.")
    return connector


CONNECTION_NAME_MAX_LENGTH = 100


def connection_rename(*, connection, name: str, actor=None):
    """Give the connection the tenant's own name; an empty one goes back to the platform's."""
    name = " ".join(name.split())
    if len(name) > CONNECTION_NAME_MAX_LENGTH:
        raise ValueError(f"A name has at most {CONNECTION_NAME_MAX_LENGTH} characters")
    return connection_settings_update(
        connection=connection, changes={"display_name": name}, actor=actor
    )


def connection_settings_update(*, connection, changes: dict, actor=None):
    """Apply an owner's or operator's edits (field name -> value) and store those columns only:
    workers record the connection's health, sync cursor and refreshed tokens meanwhile, and a
    whole-row save would put back the values read before. ``connection_settings`` is merged into
    the stored mapping, so an edit of one setting keeps the others. Recorded in the audit trail
    (a secret as changed, never its value)."""
    before = {name: getattr(connection, name) for name in changes}
    for name, value in changes.items():
        if name == "connection_settings":
            value = {**(connection.connection_settings or {}), **value}
        setattr(connection, name, value)
    if not changes:
        return connection
    after = {name: getattr(connection, name) for name in changes}
    changed = audit_changes(model=type(connection), before=before, after=after)
    secrets_changed = {k: v for k, v in changed.items() if v == HIDDEN_CHANGE}
    settings_changed = {k: v for k, v in changed.items() if v != HIDDEN_CHANGE}
    with transaction.atomic():
        connection.save(update_fields=[*changes, "updated_at"])
        for action, what in (
            (Action.CONNECTION_SECRET_CHANGED, secrets_changed),
            (Action.CONNECTION_SETTINGS_CHANGED, settings_changed),
        ):
            if what:
                audit_record(
                    action=action,
                    actor=actor,
                    organization=connection.organization_id,
                    target=connection,
                    changes=what,
                )
    return connection


def connection_webhook_secret_rotate(*, connection, actor) -> str:
    """A new signing key for the connection's own webhook endpoint; the platform must be given
    it. Returns the key."""
    key = secrets.token_urlsafe(32)
    connection_settings_update(connection=connection, changes={"webhook_secret": key}, actor=actor)
    return key


# --- Credentials (API key, client credentials) ---------------------------------------------------

CREDENTIAL_MAX_LENGTH = 2000


def connection_credentials_connect(
    *, family: str, platform: str, organization, user, credentials: Mapping, site_url: str
):
    """Connect with credentials the tenant typed in: each of the platform's fields given, tried
    against the platform, then stored encrypted on a new connection (or on the organization's
    connection to the same account). ConnectError, stored nothing, when they are incomplete or
    the platform refuses them; PlatformUnreachable (a ConnectError) when it could not be asked.
    Any secret the platform echoes back is withheld from the message."""
    connector = platform_connector(family=family, platform=platform)
    if not issubclass(connector, CredentialsConnector):
        raise ConnectError(f"{connector.display_name} does not connect with typed-in credentials.")
    values = _credentials_checked(connector, credentials)
    unsaved = _unsaved_connection(family=family, platform=platform, base_url="")
    try:
        account_id = connector(unsaved).credentials_check(values)
    except PermanentConnectorError as error:
        refusal = _without_secrets(str(error), connector=connector, values=values)
        raise ConnectError(
            f"{connector.display_name} refused these credentials: {refusal}"
        ) from None
    except ConnectorError as error:
        unreachable = _without_secrets(str(error), connector=connector, values=values)
        raise PlatformUnreachable(
            f"{connector.display_name} could not be asked: {unreachable}"
        ) from None
    model = families.get(family).connection_model
    with transaction.atomic():
        connection = (
            model.objects.select_for_update()
            .filter(
                organization=organization, account_id=account_id, **{model.platform_field: platform}
            )
            .first()
        )
        if connection is None:
            columns = {field.name for field in model._meta.fields}
            connection = model(
                **{model.platform_field: platform},
                organization=organization,
                user=user,
                account_id=account_id,
                webhook_secret="",
                **{k: v for k, v in connector.connection_defaults.items() if k in columns},
            )
        connection.credentials_encrypted = json.dumps(values)
        connection.is_active = True
        connection.health = model.Health.CONNECTED
        connection.last_error = ""
        if Capability.SECRET_URL_WEBHOOKS in connector.capabilities and not (
            connection.webhook_secret
        ):
            connection.webhook_secret = secrets.token_urlsafe(URL_SECRET_BYTES)
        connection.save()
        webhooks = {Capability.WEBHOOKS, Capability.SECRET_URL_WEBHOOKS}
        if webhooks & connector.capabilities and not connection.webhook_url:
            connection.webhook_url = webhook_url(site_url=site_url, connection=connection)
            connection.save(update_fields=["webhook_url"])
        connection_connected_record(connection=connection, actor=user)
    connection_webhooks_subscribe(connection=connection)
    return connection


def _without_secrets(message: str, *, connector, values: Mapping[str, str]) -> str:
    """The platform's answer with any secret it echoed back withheld: it is shown to the user."""
    for field in connector.credential_fields:
        if field.secret and values.get(field.name):
            message = message.replace(values[field.name], "(withheld)")
    return message


def _credentials_checked(connector, credentials: Mapping) -> dict[str, str]:
    """Every declared field as a non-empty string, nothing else; the message names the fields,
    never a value."""
    names = [field.name for field in connector.credential_fields]
    if not isinstance(credentials, Mapping):
        raise ConnectError(f"The credentials are an object with {', '.join(names)}.")
    unknown = sorted(set(credentials) - set(names))
    if unknown:
        shown = ", ".join(name[:40] for name in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise ConnectError(f"{connector.display_name} takes {', '.join(names)}, not {shown}.")
    values = {}
    for field in connector.credential_fields:
        value = credentials.get(field.name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            raise ConnectError(f"{field.label} is required.")
        if len(value) > CREDENTIAL_MAX_LENGTH:
            raise ConnectError(f"{field.label} is longer than {CREDENTIAL_MAX_LENGTH} characters.")
        values[field.name] = value
    return values


# --- OAuth ---------------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def oauth_start(
    *,
    family: str,
    platform: str,
    organization,
    user,
    session_key: str,
    redirect_uri: str,
    sandbox_base_url: str = "",
    login_host: str = "",
) -> str:
    """Begin connecting: store a one-time state bound to this session, organization and
    platform, and return the platform's authorize URL (with a PKCE challenge where supported).
    ``sandbox_base_url`` connects to our sandbox of the platform instead of the real one;
    ``login_host`` to the login host the tenant chose, for a platform that has several."""
    connector = platform_connector(family=family, platform=platform)
    if not issubclass(connector, OAuthConnector):
        raise ConnectError(f"{connector.display_name} does not connect through OAuth.")
    login_base = ""
    if login_host and not sandbox_base_url:
        login_base = connector.login_host_checked(login_host)
        if not login_base:
            raise ConnectError(
                f"{login_host[:100]!r} is not a {connector.display_name} login host."
            )
    if not session_key:
        raise ConnectError("Connecting needs a browser session; sign in first.")
    verifier, challenge = pkce_pair()
    uses_pkce = Capability.PKCE in connector.capabilities
    state = OAuthState.objects.create(
        state=secrets.token_urlsafe(32),
        family=family,
        platform=platform,
        organization=organization,
        user=user,
        session_key=session_key,
        code_verifier=verifier if uses_pkce else "",
        redirect_uri=redirect_uri,
        base_url=sandbox_base_url or login_base,
        is_sandbox=bool(sandbox_base_url),
        expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_STATE_SECONDS),
    )
    unsaved = _unsaved_connection(
        family=family, platform=platform, base_url=sandbox_base_url or login_base
    )
    return connector(unsaved).authorization_url(
        state=state.state, redirect_uri=redirect_uri, code_challenge=challenge if uses_pkce else ""
    )


def _unsaved_connection(*, family: str, platform: str, base_url: str, **fields):
    model = families.get(family).connection_model
    return model(**{model.platform_field: platform}, base_url=base_url, **fields)


def oauth_complete(
    *,
    family: str,
    platform: str,
    state: str,
    code: str,
    session_key: str,
    site_url: str,
    callback: Mapping[str, str] | None = None,
):
    """Finish connecting: check the state (one use, this session, this platform, not expired),
    exchange the code, and store the tokens encrypted on a new or re-authorised connection.
    ``callback`` is the callback's whole query (a platform may name more than the code)."""
    now = timezone.now()
    with transaction.atomic():
        # Marking it used in the same statement that finds it: a replayed state finds nothing.
        claimed = OAuthState.objects.filter(
            state=state,
            family=family,
            platform=platform,
            session_key=session_key,
            used_at__isnull=True,
            expires_at__gt=now,
        ).update(used_at=now)
    if not claimed or not code:
        raise ConnectError("This connect link is not valid any more. Start connecting again.")
    started = OAuthState.objects.select_related("organization", "user").get(state=state)
    connector = platform_connector(family=family, platform=platform)
    unsaved = _unsaved_connection(family=family, platform=platform, base_url=started.base_url)
    try:
        tokens = connector(unsaved).tokens_from_code(
            code=code,
            redirect_uri=started.redirect_uri,
            code_verifier=started.code_verifier,
            callback=callback or {},
        )
    except ConnectorError as error:
        raise ConnectError(f"{connector.display_name} refused the connection: {error}") from None
    return _connection_store_tokens(started=started, tokens=tokens, site_url=site_url)


def _connection_store_tokens(*, started: OAuthState, tokens: TokenSet, site_url: str):
    model = families.get(started.family).connection_model
    with transaction.atomic():
        connection = (
            model.objects.select_for_update()
            .filter(
                organization=started.organization,
                account_id=tokens.account_id,
                **{model.platform_field: started.platform},
            )
            .first()
            if tokens.account_id
            else None
        )
        connector = registry.get(started.platform)
        if connection is None:
            columns = {field.name for field in model._meta.fields}
            connection = model(
                **{model.platform_field: started.platform},
                organization=started.organization,
                user=started.user,
                account_id=tokens.account_id,
                webhook_secret="",
                **{k: v for k, v in connector.connection_defaults.items() if k in columns},
            )
        if Capability.SECRET_URL_WEBHOOKS in connector.capabilities and not (
            connection.webhook_secret
        ):
            connection.webhook_secret = secrets.token_urlsafe(URL_SECRET_BYTES)
        connection.credentials_encrypted = _credentials_json(tokens)
        connection.token_expires_at = tokens.expires_at
        connection.base_url = started.base_url
        connection.is_sandbox = started.is_sandbox
        connection.is_active = True
        connection.health = model.Health.CONNECTED
        connection.last_error = ""
        connection.save()
        if not connection.webhook_url:
            connection.webhook_url = webhook_url(site_url=site_url, connection=connection)
            connection.save(update_fields=["webhook_url"])
        connection_connected_record(connection=connection, actor=started.user)
    connection_webhooks_subscribe(connection=connection)
    return connection


def connection_connected_record(*, connection, actor) -> None:
    """The audit trail's record of a connection made or re-authorised, in its transaction."""
    audit_record(
        action=Action.CONNECTION_CONNECTED,
        actor=actor,
        organization=connection.organization_id,
        target=connection,
        changes={
            "platform": [None, connection.platform],
            "account_id": [None, connection.account_id],
            "credentials": HIDDEN_CHANGE,
        },
    )


def connection_webhooks_subscribe(*, connection) -> None:
    """Have the platform deliver to the connection's webhook URL, where the platform is told so
    by API (the connector's ``webhooks_subscribe``). A refusal leaves the connection connected,
    its scheduled sync still pulling every change, with the reason as its last error."""
    connector_class = registry.get(connection.platform)
    if Capability.WEBHOOKS not in connector_class.capabilities:
        return
    try:
        connector_for(connection).webhooks_subscribe()
    except ConnectorError as error:
        type(connection).objects.filter(pk=connection.pk).update(
            last_error=f"The webhook subscription could not be made: {error}"[:2000]
        )


def _credentials_json(tokens: TokenSet) -> str:
    return json.dumps(
        {
            **tokens.extra,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
        }
    )


def connector_for(connection):
    """The connection's connector, bound to it, for every family and platform. An OAuth access
    token about to expire is refreshed first, under the connection's row lock. Due-ness is read
    off the row already loaded, so a token that is not due costs no statement (the realtime
    path); the lock then checks again, so a token another worker just refreshed is kept."""
    connector_class = registry.get(connection.platform)
    if _token_due(connector_class, connection.token_expires_at):
        connection_tokens_refresh(connection=connection)
    return connector_class(connection)


def _token_due(connector_class, expires_at) -> bool:
    """Whether an OAuth connector's access token expiring at ``expires_at`` is within the
    refresh margin; never for a token that does not expire (private-app tokens, API keys)."""
    if expires_at is None or not issubclass(connector_class, OAuthConnector):
        return False
    margin = timedelta(
        seconds=connector_class.token_refresh_margin_seconds
        if connector_class.token_refresh_margin_seconds is not None
        else settings.OAUTH_REFRESH_MARGIN_SECONDS
    )
    return expires_at - margin <= timezone.now()


def connection_tokens_refresh(
    *, connection, force: bool = False, stale_access_token: str = ""
) -> bool:
    """Refresh the access token when it expires within the margin (or ``force``), holding the
    connection's row lock so two workers never spend one refresh token twice. True when
    refreshed. ``stale_access_token``: the token a platform just refused; a forced refresh is
    skipped when another worker has already replaced it. An AuthenticationError marks the
    connection as needing re-authorising."""
    connector_class = registry.get(connection.platform)
    if not issubclass(connector_class, OAuthConnector):
        return False
    model = type(connection)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=connection.pk)
        due = _token_due(connector_class, locked.token_expires_at)
        credentials = json.loads(locked.credentials_encrypted or "{}")
        refresh_token = credentials.get("refresh_token")
        if stale_access_token and credentials.get("access_token") != stale_access_token:
            force = False
        if not (force or due) or not refresh_token:
            # Another worker may have refreshed it meanwhile: use its tokens, not the stale ones.
            connection.credentials_encrypted = locked.credentials_encrypted
            connection.token_expires_at = locked.token_expires_at
            return False
        try:
            tokens = connector_class(locked).tokens_refresh(refresh_token=refresh_token)
        except AuthenticationError as error:
            refused = error
        else:
            refused = None
            locked.credentials_encrypted = _credentials_json(
                TokenSet(
                    access_token=tokens.access_token,
                    refresh_token=tokens.refresh_token or refresh_token,
                    expires_at=tokens.expires_at,
                    extra=tokens.extra,
                )
            )
            locked.token_expires_at = tokens.expires_at
            locked.save(update_fields=["credentials_encrypted", "token_expires_at", "updated_at"])
    if refused is not None:
        # Flagged once the lock's transaction is over: raising inside it would roll the flag back.
        connection_reauthorization_needed(connection=locked, error=refused)
        raise refused
    connection.credentials_encrypted = locked.credentials_encrypted
    connection.token_expires_at = locked.token_expires_at
    return True


def connection_disconnect(*, connection, actor=None) -> None:
    """Revoke the grant at the platform (best effort: a platform that is down must not keep a
    tenant connected), forget the tokens and stop processing."""
    connector_class = registry.get(connection.platform)
    credentials = json.loads(connection.credentials_encrypted or "{}")
    revoke_error = ""
    if Capability.WEBHOOKS in connector_class.capabilities and credentials:
        try:
            connector_class(connection).webhooks_unsubscribe()
        except ConnectorError as error:
            revoke_error = f"Removing the webhook subscription failed: {error}"
    if issubclass(connector_class, OAuthConnector) and credentials.get("access_token"):
        try:
            connector_class(connection).tokens_revoke(access_token=credentials["access_token"])
        except ConnectorError as error:
            revoke_error = f"Revoking at the platform failed: {error}"
    model = type(connection)
    with transaction.atomic():
        model.objects.filter(pk=connection.pk).update(
            credentials_encrypted="",
            token_expires_at=None,
            is_active=False,
            health=model.Health.DISCONNECTED,
            last_error=revoke_error[:2000],
        )
        audit_record(
            action=Action.CONNECTION_DISCONNECTED,
            actor=actor,
            organization=connection.organization_id,
            target=connection,
            changes={"credentials": HIDDEN_CHANGE},
        )
