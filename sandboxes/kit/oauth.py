"""An OAuth 2.0 authorization server for every sandbox, on the kit's abstract models.

Authorize (the account consents at once), token (``authorization_code`` and ``refresh_token``
grants), PKCE with S256, revoking a grant and looking tokens up for introspection. A platform
is mostly constants; it overrides a few hooks where it differs::

    class AcmeOAuth(OAuthServer):
        code_model = AcmeAuthorizationCode  # SandboxAuthorizationCode + account FK
        token_model = AcmeAccessToken  # SandboxAccessToken + account FK
        access_token_lifetime = timedelta(hours=1)
        refresh_rotates = True

        def app(self, client_id):  # the OAuth app a client_id names, or None
            shop = AcmeShop.objects.filter(client_id=client_id).first()
            return shop and OAuthApp(client_id, shop.client_secret, shop.redirect_uri, shop)

        def fail(self, failure, *, field=""):  # the platform's error for each failure
            return AcmeError(FAILURE_MESSAGES[failure], status=400)


    oauth = AcmeOAuth(api)  # api: the sandbox's SandboxAPI
    # urls.py: route("oauth/authorize", "authorize", GET=oauth.authorize_view),
    #          route("oauth/token", "token", POST=oauth.token_view)

Constants: ``code_lifetime``, ``access_token_lifetime``, ``refresh_token_lifetime`` (None:
until revoked), ``refresh_rotates``, ``scope_separator``, ``scope_pattern``,
``pkce_replaces_client_secret`` (the PKCE flow sends a verifier instead of the secret),
``pkce_method_required`` (a challenge without ``code_challenge_method=S256`` is refused),
``authorize_redirect_extra`` (parameters the redirect adds), ``authorize_operation`` /
``token_operation`` and ``endpoint_options`` (``SandboxAPI.endpoint`` flags for the two views).
Hooks: ``app``, ``consenting_account``, ``authorize_redirect_uri``, ``authorize_scopes``,
``token_options`` / ``access_token_lifetime_for`` (extra token columns, such as short-lived
tokens), ``refresh_rotates_for``, ``refresh_token_lifetime_for``, ``refresh_scopes``,
``new_code`` / ``new_access_token`` / ``new_refresh_token``, ``token_answer`` (the response's
field names) and ``fail``.
"""

import base64
import hashlib
import hmac
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.utils import timezone

from sandboxes.kit.endpoints import PlatformError, SandboxAPI, query_params
from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode


class OAuthFailure(StrEnum):
    """Why an OAuth request is refused; ``OAuthServer.fail`` turns one into the platform's
    error."""

    UNKNOWN_CLIENT = "unknown_client"  # authorize: client_id names no app
    BAD_REDIRECT_URI = "bad_redirect_uri"  # authorize: not the app's, or not absolute
    BAD_SCOPE = "bad_scope"
    BAD_CODE_CHALLENGE_METHOD = "bad_code_challenge_method"
    BAD_CODE_CHALLENGE = "bad_code_challenge"
    MISSING_PARAMETER = "missing_parameter"  # ``field`` names it
    BAD_PARAMETER = "bad_parameter"  # not a string, or too long; ``field`` names it
    # token: client_id names no app
    TOKEN_UNKNOWN_CLIENT = "token_unknown_client"  # noqa: S105
    BAD_CLIENT_SECRET = "bad_client_secret"  # noqa: S105
    BAD_GRANT_TYPE = "bad_grant_type"
    BAD_CODE = "bad_code"  # unknown, expired or already redeemed
    BAD_CODE_VERIFIER = "bad_code_verifier"
    REDIRECT_URI_MISMATCH = "redirect_uri_mismatch"  # token: not the authorize request's
    # unknown, revoked, expired or already used
    BAD_REFRESH_TOKEN = "bad_refresh_token"  # noqa: S105


FAILURE_MESSAGES = {
    OAuthFailure.UNKNOWN_CLIENT: "client_id is not a known app's",
    OAuthFailure.BAD_REDIRECT_URI: "redirect_uri must be the app's absolute http(s) URL",
    OAuthFailure.BAD_SCOPE: "scope must name one or more scopes",
    OAuthFailure.BAD_CODE_CHALLENGE_METHOD: "code_challenge_method must be S256",
    OAuthFailure.BAD_CODE_CHALLENGE: "code_challenge must be the base64url SHA-256 of the "
    "code verifier",
    OAuthFailure.MISSING_PARAMETER: "{field} is required",
    OAuthFailure.BAD_PARAMETER: "{field} must be a string of at most {max_length} characters",
    OAuthFailure.TOKEN_UNKNOWN_CLIENT: "client_id is not a known app's",
    OAuthFailure.BAD_CLIENT_SECRET: "client_secret is not the app's",
    OAuthFailure.BAD_GRANT_TYPE: "grant_type must be authorization_code or refresh_token",
    OAuthFailure.BAD_CODE: "The authorization code is unknown, expired or already redeemed",
    OAuthFailure.BAD_CODE_VERIFIER: "code_verifier does not match the code_challenge",
    OAuthFailure.REDIRECT_URI_MISMATCH: "redirect_uri must be the one the authorize URL named",
    OAuthFailure.BAD_REFRESH_TOKEN: "The refresh token is unknown, revoked, expired or "
    "already used",
}
# The failures of a client that is not who it says it is (401 by default), not of a bad request.
UNAUTHORIZED_FAILURES = frozenset(
    {
        OAuthFailure.TOKEN_UNKNOWN_CLIENT,
        OAuthFailure.BAD_CLIENT_SECRET,
        OAuthFailure.BAD_CODE,
        OAuthFailure.BAD_CODE_VERIFIER,
        OAuthFailure.BAD_REFRESH_TOKEN,
    }
)


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth app as the sandbox knows it. ``account``: the one account it is installed in
    (None when each authorize picks one, see ``OAuthServer.consenting_account``)."""

    client_id: str
    client_secret: str
    redirect_uri: str = ""
    account: object = None


def account_or_public_app(
    client_id: str, *, accounts, public_app: tuple[str, str]
) -> OAuthApp | None:
    """The app of the account (in ``accounts``, a model or queryset with ``client_id``,
    ``client_secret`` and ``redirect_uri``) whose own app ``client_id`` names, installed in that
    account only; else the public app (``public_app`` = its id and secret) when it names that."""
    account = accounts.objects.filter(client_id=client_id or None).first()
    if account is not None:
        return OAuthApp(
            client_id=account.client_id,
            client_secret=account.client_secret,
            redirect_uri=account.redirect_uri,
            account=account,
        )
    public_id, public_secret = public_app
    if client_id and hmac.compare_digest(client_id.encode(), public_id.encode()):
        return OAuthApp(client_id=public_id, client_secret=public_secret)
    return None


def url_with(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query, its own query kept."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class OAuthServer(ABC):
    """One platform's OAuth server; see the module's docstring."""

    code_model: type[SandboxAuthorizationCode]
    token_model: type[SandboxAccessToken]
    code_lifetime = timedelta(minutes=10)
    access_token_lifetime = timedelta(hours=1)
    refresh_token_lifetime: timedelta | None = None
    refresh_rotates = False
    scope_separator = " "
    scope_pattern: re.Pattern | None = None
    pkce_replaces_client_secret = False
    pkce_method_required = True
    code_challenge_pattern = re.compile(r"[A-Za-z0-9_-]{43,128}", re.ASCII)
    # RFC 7636's unreserved characters, 43 to 128 of them.
    code_verifier_pattern = re.compile(r"[A-Za-z0-9._~-]{43,128}", re.ASCII)
    max_parameter_length = 2048
    authorize_redirect_extra: Mapping[str, str] = {}
    # The views' operations (for the faults' ``only_operations``) and ``SandboxAPI.endpoint``
    # flags (e.g. ``{"counted": False}``).
    authorize_operation = "authorize"
    token_operation = "token"  # noqa: S105
    endpoint_options: Mapping[str, bool] = {}

    def __init__(self, api: SandboxAPI):
        self.api = api
        options = {"authenticated": False, "body": False, **self.endpoint_options}
        self.authorize_view = api.endpoint(self.authorize_operation, **options)(
            self._authorize_view
        )
        self.token_view = api.endpoint(self.token_operation, **options)(self._token_view)

    # --- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def app(self, client_id: str) -> OAuthApp | None:
        """The app ``client_id`` names, or None."""

    def consenting_account(self, *, app: OAuthApp, params: Mapping[str, str]):
        """The account that approves (at once: the sandbox shows no consent screen)."""
        return app.account

    def authorize_redirect_uri(self, *, app: OAuthApp, params: Mapping[str, str]) -> str:
        """Where the account is sent back: the app's own URL, which the request must repeat
        when the app has one; else the request's, which must be absolute http(s)."""
        given = params.get("redirect_uri", "")
        if app.redirect_uri:
            if given != app.redirect_uri:
                raise self.fail(OAuthFailure.BAD_REDIRECT_URI, field="redirect_uri")
            return given
        target = urlsplit(given)
        if target.scheme not in ("http", "https") or not target.netloc:
            raise self.fail(OAuthFailure.BAD_REDIRECT_URI, field="redirect_uri")
        return given

    def authorize_scopes(self, params: Mapping[str, str]) -> list[str]:
        return self.scopes_parsed(params.get("scope"), field="scope")

    def token_options(self, form: Mapping) -> dict:
        """Extra columns of the token model a token request sets (e.g. ``short_lived``)."""
        return {}

    def access_token_lifetime_for(self, options: Mapping) -> timedelta:
        return self.access_token_lifetime

    def refresh_rotates_for(self, *, is_pkce: bool) -> bool:
        return self.refresh_rotates

    def refresh_token_lifetime_for(self, *, is_pkce: bool) -> timedelta | None:
        return self.refresh_token_lifetime

    def refresh_scopes(self, grant: SandboxAccessToken, form: Mapping) -> list[str]:
        return grant.scopes

    def new_code(self) -> str:
        return secrets.token_urlsafe(24)

    def new_access_token(self) -> str:
        return secrets.token_urlsafe(48)

    def new_refresh_token(self) -> str:
        return secrets.token_urlsafe(48)

    def token_answer(self, token: SandboxAccessToken) -> dict:
        """The token response, RFC 6749's fields."""
        return {
            "access_token": token.access_token,
            "token_type": "bearer",
            "expires_in": round((token.expires_at - token.created_at).total_seconds()),
            "refresh_token": token.refresh_token,
            "scope": self.scope_separator.join(token.scopes),
        }

    def fail(self, failure: OAuthFailure, *, field: str = "") -> PlatformError:
        status = 401 if failure in UNAUTHORIZED_FAILURES else 400
        return self.api.error(self.failure_message(failure, field=field), status=status)

    def failure_message(self, failure: OAuthFailure, *, field: str = "") -> str:
        return FAILURE_MESSAGES[failure].format(
            field=field or "the parameter", max_length=self.max_parameter_length
        )

    # --- authorize -------------------------------------------------------------------------

    def authorize(self, *, params: Mapping[str, str]) -> str:
        """The URL the account is sent back to, with a single-use code and the state."""
        app = self.app(params.get("client_id", ""))
        if app is None:
            raise self.fail(OAuthFailure.UNKNOWN_CLIENT, field="client_id")
        scopes = self.authorize_scopes(params)
        target = self.authorize_redirect_uri(app=app, params=params)
        challenge = self._challenge(params)
        account = self.consenting_account(app=app, params=params)
        code = self.code_model.objects.create(
            code=self.new_code(),
            account=account,
            client_id=app.client_id,
            scopes=scopes,
            redirect_uri=params.get("redirect_uri", ""),
            code_challenge=challenge,
            expires_at=timezone.now() + self.code_lifetime,
        )
        state = {"state": params["state"]} if params.get("state") else {}
        return url_with(target, code=code.code, **self.authorize_redirect_extra, **state)

    def _challenge(self, params: Mapping[str, str]) -> str:
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "")
        if (method or (challenge and self.pkce_method_required)) and method != "S256":
            raise self.fail(OAuthFailure.BAD_CODE_CHALLENGE_METHOD, field="code_challenge_method")
        if (challenge or method) and not self.code_challenge_pattern.fullmatch(challenge):
            raise self.fail(OAuthFailure.BAD_CODE_CHALLENGE, field="code_challenge")
        return challenge

    # --- token -----------------------------------------------------------------------------

    def token(self, *, form: Mapping) -> dict:
        """The token response to an ``authorization_code`` or ``refresh_token`` grant."""
        app = self.app(self.parameter(form, "client_id", required=True))
        if app is None:
            raise self.fail(OAuthFailure.TOKEN_UNKNOWN_CLIENT)
        if not self.pkce_replaces_client_secret:
            self._client_secret_check(form, app=app)
        options = self.token_options(form)
        grant_type = form.get("grant_type")
        with transaction.atomic():
            if grant_type == "authorization_code":
                token = self._token_for_code(form, app=app, options=options)
            elif grant_type == "refresh_token":
                token = self._token_for_refresh(form, app=app, options=options)
            else:
                raise self.fail(OAuthFailure.BAD_GRANT_TYPE, field="grant_type")
        return self.token_answer(token)

    def _token_for_code(self, form: Mapping, *, app: OAuthApp, options: Mapping):
        given = self.parameter(form, "code", required=True)
        code = (
            self.code_model.objects.select_for_update()
            .select_related("account")
            .filter(code=given, client_id=app.client_id)
            .first()
        )
        if code is None or code.redeemed_at is not None or code.expires_at <= timezone.now():
            raise self.fail(OAuthFailure.BAD_CODE)
        if code.code_challenge:
            verifier = self.parameter(form, "code_verifier", required=True)
            if not self.pkce_verified(verifier, challenge=code.code_challenge):
                raise self.fail(OAuthFailure.BAD_CODE_VERIFIER)
        elif self.pkce_replaces_client_secret:
            self._client_secret_check(form, app=app)
        if code.redirect_uri and form.get("redirect_uri") != code.redirect_uri:
            raise self.fail(OAuthFailure.REDIRECT_URI_MISMATCH, field="redirect_uri")
        code.redeemed_at = timezone.now()
        code.save(update_fields=["redeemed_at"])
        is_pkce = bool(code.code_challenge)
        return self.token_issue(
            account=code.account,
            client_id=app.client_id,
            scopes=code.scopes,
            is_pkce=is_pkce,
            refresh_token=self.new_refresh_token(),
            refresh_token_lifetime=self.refresh_token_lifetime_for(is_pkce=is_pkce),
            options=options,
        )

    def _token_for_refresh(self, form: Mapping, *, app: OAuthApp, options: Mapping):
        given = self.parameter(form, "refresh_token", required=True)
        grant = self.grant_live(given, client_id=app.client_id, for_update=True)
        if grant is None:
            raise self.fail(OAuthFailure.BAD_REFRESH_TOKEN)
        if self.pkce_replaces_client_secret and not grant.is_pkce:
            self._client_secret_check(form, app=app)
        scopes = self.refresh_scopes(grant, form)
        if self.refresh_rotates_for(is_pkce=grant.is_pkce):
            # Single use: every token of the old refresh token lets it go.
            self.token_model.objects.filter(client_id=app.client_id, refresh_token=given).update(
                refresh_token=""
            )
            refresh_token = self.new_refresh_token()
            lifetime = self.refresh_token_lifetime_for(is_pkce=grant.is_pkce)
        else:
            refresh_token = given
            lifetime = None
        token = self.token_issue(
            account=grant.account,
            client_id=app.client_id,
            scopes=scopes,
            is_pkce=grant.is_pkce,
            refresh_token=refresh_token,
            refresh_token_lifetime=lifetime,
            options=options,
        )
        if lifetime is None:  # the grant's refresh token keeps its own expiry
            token.refresh_token_expires_at = grant.refresh_token_expires_at
            token.save(update_fields=["refresh_token_expires_at"])
        return token

    def token_issue(
        self,
        *,
        account,
        client_id: str,
        scopes: list[str],
        is_pkce: bool,
        refresh_token: str,
        refresh_token_lifetime: timedelta | None,
        options: Mapping,
    ) -> SandboxAccessToken:
        now = timezone.now()
        return self.token_model.objects.create(
            account=account,
            client_id=client_id,
            access_token=self.new_access_token(),
            refresh_token=refresh_token,
            refresh_token_expires_at=now + refresh_token_lifetime
            if refresh_token_lifetime
            else None,
            is_pkce=is_pkce,
            scopes=scopes,
            expires_at=now + self.access_token_lifetime_for(options),
            **options,
        )

    # --- lookups and revoking --------------------------------------------------------------

    def token_for_bearer(self, access_token: str) -> SandboxAccessToken | None:
        """The token whatever its state (the platform tells revoked from expired)."""
        if not access_token:
            return None
        return (
            self.token_model.objects.select_related("account")
            .filter(access_token=access_token)
            .first()
        )

    def access_token_live(self, access_token: str) -> SandboxAccessToken | None:
        """The token when it is neither revoked nor expired."""
        token = self.token_for_bearer(access_token)
        if token is None or token.revoked_at is not None or token.expires_at <= timezone.now():
            return None
        return token

    def grant_live(
        self, refresh_token: str, *, client_id: str | None = None, for_update: bool = False
    ) -> SandboxAccessToken | None:
        """The first token of a live refresh token (it holds the approved scopes), or None."""
        if not refresh_token:
            return None
        tokens = self.token_model.objects.select_related("account").filter(
            refresh_token=refresh_token, revoked_at__isnull=True
        )
        if client_id is not None:
            tokens = tokens.filter(client_id=client_id)
        if for_update:
            tokens = tokens.select_for_update(of=("self",))
        grant = tokens.order_by("id").first()
        expires = grant.refresh_token_expires_at if grant is not None else None
        if grant is None or (expires is not None and expires <= timezone.now()):
            return None
        return grant

    def tokens_revoke(self, tokens) -> int:
        """Revoke the live tokens of a queryset; how many were."""
        return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())

    def grant_revoke(self, refresh_token: str) -> int:
        """Revoke a refresh token and every access token it minted."""
        return self.tokens_revoke(self.token_model.objects.filter(refresh_token=refresh_token))

    # --- parsing ---------------------------------------------------------------------------

    def parameter(self, form: Mapping, name: str, *, required: bool = False) -> str:
        """A string parameter; "" when absent (or the platform's error when ``required``)."""
        value = form.get(name)
        if value is None or value == "":
            if required:
                raise self.fail(OAuthFailure.MISSING_PARAMETER, field=name)
            return ""
        if not isinstance(value, str) or len(value) > self.max_parameter_length:
            raise self.fail(OAuthFailure.BAD_PARAMETER, field=name)
        return value

    def scopes_parsed(self, value: object, *, field: str) -> list[str]:
        """Scope names from a separated string or a list, each once, in the order given."""
        names = value.split(self.scope_separator) if isinstance(value, str) else value
        if isinstance(names, list):
            names = [name for name in names if name != ""]
        if (
            not isinstance(names, list)
            or not names
            or not all(
                isinstance(name, str)
                and (self.scope_pattern is None or self.scope_pattern.fullmatch(name))
                for name in names
            )
        ):
            raise self.fail(OAuthFailure.BAD_SCOPE, field=field)
        return list(dict.fromkeys(names))

    def pkce_verified(self, verifier: str, *, challenge: str) -> bool:
        if not self.code_verifier_pattern.fullmatch(verifier):
            return False
        return hmac.compare_digest(pkce_challenge(verifier).encode(), challenge.encode())

    def _client_secret_check(self, form: Mapping, *, app: OAuthApp) -> None:
        given = self.parameter(form, "client_secret", required=True)
        if not hmac.compare_digest(given.encode(), app.client_secret.encode()):
            raise self.fail(OAuthFailure.BAD_CLIENT_SECRET)

    # --- views -----------------------------------------------------------------------------

    def token_form(self, request) -> Mapping:
        """The token request's parameters: a JSON object, or the form and the query string."""
        if request.content_type == "application/json":
            return self.api.json_body(request)
        return {**request.GET.dict(), **request.POST.dict()}

    def _authorize_view(self, request):
        return HttpResponseRedirect(self.authorize(params=query_params(request)))

    def _token_view(self, request):
        return JsonResponse(self.token(form=self.token_form(request)))
