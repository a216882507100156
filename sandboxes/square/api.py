"""Square's HTTP conventions on the kit: its error envelope, bearer tokens and scopes, rate-limit
headers, fault answers, sellers, and its OAuth server.

Requests carry ``Authorization: Bearer <token>``: the seller's own access token, which has every
scope, or one the OAuth flow issued, which has the scopes the seller granted (403
INSUFFICIENT_SCOPES otherwise). Every answer of a Square path carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds) for its credential's one-minute window;
past the limit it is a 429 RATE_LIMITED with ``Retry-After``. Faults apply to the seller the
bearer token names (else to every seller's switches), also to the OAuth paths.

OAuth: the sandbox app is ``settings.SQUARE_SANDBOX_CLIENT_ID`` / ``SQUARE_SANDBOX_CLIENT_SECRET``
(defaults below). ``/oauth2/authorize`` approves at once, for the seller the sandbox-only
``merchant_id`` parameter names or else a new one, and redirects with a five-minute, single-use
code; PKCE (S256) replaces the client secret. A code-flow refresh token is reused (the answer
repeats it); a PKCE one is single-use, lasts 90 days, and the answer carries its successor.
"""

import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.utils import timezone

from sandboxes.kit.endpoints import (
    PlatformError,
    RateUsage,
    RateWindow,
    SandboxAPI,
    WindowUse,
    bearer_token,
)
from sandboxes.kit.faults import retry_after
from sandboxes.kit.oauth import OAuthApp, OAuthFailure, OAuthServer
from sandboxes.kit.shared_cache import cache_get
from sandboxes.square.models import (
    SquareSandboxAccessToken,
    SquareSandboxAuthorizationCode,
    SquareSandboxLocation,
    SquareSandboxMerchant,
)
from taxpoynt.lib.rows import row_by

# The sandbox app, as PLATFORM_APPS["square"] defaults to: sandbox values, not credentials.
DEFAULT_CLIENT_ID = "sandbox-sq0idb-taxpoynt"
DEFAULT_CLIENT_SECRET = "sandbox-sq0csb-taxpoynt"  # noqa: S105
SHORT_LIVED_TOKEN_LIFETIME = timedelta(hours=24)

# Each credential's budget of requests a minute, unless set (``square_sandbox_faults_set``).
LIMIT_CACHE_KEY = "square-sandbox:requests-per-minute"
DEFAULT_REQUESTS_PER_MINUTE = 60_000
MAX_REQUESTS_PER_MINUTE = 10**9
RATE_WINDOW_SECONDS = 60
FAULT_ERRORS = {
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR"),
    502: ("API_ERROR", "BAD_GATEWAY"),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE"),
    504: ("API_ERROR", "GATEWAY_TIMEOUT"),
}


class SquareError(PlatformError):
    """A Square error answer: ``{"errors": [{category, code, detail, field?}]}``."""

    def __init__(
        self,
        detail: str,
        *,
        status: int = 400,
        category: str = "INVALID_REQUEST_ERROR",
        code: str = "INVALID_VALUE",
        field: str = "",
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail, status=status, headers=headers)
        self.detail = detail
        self.category = category
        self.code = code
        self.field = field

    def body(self) -> dict:
        error = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        return {"errors": [error]}


def unauthorized(detail: str = "This request could not be authorized.") -> SquareError:
    return SquareError(detail, status=401, category="AUTHENTICATION_ERROR", code="UNAUTHORIZED")


def text_field(
    container: Mapping, key: str, *, max_length: int, required: bool = False, path: str = ""
) -> str:
    """An optional (or required) string field; empty when absent."""
    field = f"{path}.{key}" if path else key
    value = container.get(key)
    if value is None or value == "":
        if required:
            raise SquareError(
                f"{field} is required", code="MISSING_REQUIRED_PARAMETER", field=field
            )
        return ""
    if not isinstance(value, str):
        raise SquareError(f"{field} must be a string", field=field)
    if len(value) > max_length:
        raise SquareError(
            f"{field} must be at most {max_length} characters", code="VALUE_TOO_LONG", field=field
        )
    return value


def flag_field(container: Mapping, key: str, *, default: bool) -> bool:
    value = container.get(key, default)
    if not isinstance(value, bool):
        raise SquareError(f"{key} must be true or false", code="EXPECTED_BOOLEAN", field=key)
    return value


def square_id() -> str:
    return uuid.uuid4().hex[:24].upper()


def oauth_time(moment: datetime) -> str:
    """ISO 8601 to the second, as ObtainToken shows ``expires_at``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- sellers -------------------------------------------------------------------------------


def sandbox_merchant_create(
    *, locations: tuple[tuple[str, str], ...] = (("Lekki Store", "NGN"),)
) -> SquareSandboxMerchant:
    """A seller with a fresh token and one location per (name, currency)."""
    merchant = SquareSandboxMerchant.objects.create(
        merchant_id=square_id(), access_token=f"EAAA{secrets.token_urlsafe(48)}"
    )
    for name, currency in locations:
        SquareSandboxLocation.objects.create(
            merchant=merchant, location_id=square_id(), name=name, currency=currency
        )
    return merchant


def _granted_merchant_id(token: str) -> str:
    """The seller an OAuth token acts for, whatever the token's state; "" for none."""
    if not token:
        return ""
    granted = SquareSandboxAccessToken.objects.filter(access_token=token).values_list(
        "account__merchant_id", flat=True
    )
    return next(iter(granted), "")


def _request_own_merchant(request) -> SquareSandboxMerchant | None:
    """The seller whose own token the request bears, looked up once per request: the faults ask
    for the seller before the authentication does."""
    try:
        return request._square_sandbox_own_merchant
    except AttributeError:
        token = bearer_token(request)
        merchant = (
            row_by(SquareSandboxMerchant, field="access_token", value=token) if token else None
        )
        request._square_sandbox_own_merchant = merchant
        return merchant


# --- the API's conventions -----------------------------------------------------------------


class SquareAPI(SandboxAPI):
    name = "square"
    error = SquareError
    caller_argument = "merchant"
    rate_windows = (RateWindow("minute", RATE_WINDOW_SECONDS),)

    def authenticate(self, request, *, scope: str | None) -> SquareSandboxMerchant:
        """The seller the bearer token acts for; a seller's own token has every scope."""
        merchant = _request_own_merchant(request)
        if merchant is not None:
            return merchant
        grant = oauth.token_for_bearer(bearer_token(request))
        if grant is None:
            raise unauthorized()
        if grant.revoked_at is not None:
            raise SquareError(
                "The access token has been revoked",
                status=401,
                category="AUTHENTICATION_ERROR",
                code="ACCESS_TOKEN_REVOKED",
            )
        if grant.expires_at <= timezone.now():
            raise SquareError(
                "The access token has expired",
                status=401,
                category="AUTHENTICATION_ERROR",
                code="ACCESS_TOKEN_EXPIRED",
            )
        if scope is not None and scope not in grant.scopes:
            raise SquareError(
                "The merchant has not given your application sufficient permissions to do that. "
                f"The app must request the {scope} scope.",
                status=403,
                category="AUTHENTICATION_ERROR",
                code="INSUFFICIENT_SCOPES",
            )
        return grant.account

    def fault_account(self, request, caller) -> str:
        """The seller the bearer token acts for (its own or an OAuth one); "" for none."""
        merchant = _request_own_merchant(request)
        if merchant is not None:
            return merchant.merchant_id
        return _granted_merchant_id(bearer_token(request))

    def rate_limits(self, caller) -> Mapping[str, int]:
        return {"minute": cache_get(LIMIT_CACHE_KEY, DEFAULT_REQUESTS_PER_MINUTE)}

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        minute = usage["minute"]
        return {
            "RateLimit-Limit": str(minute.limit),
            "RateLimit-Remaining": str(minute.remaining),
            "RateLimit-Reset": str(minute.reset_seconds),
        }

    def rate_limited(self, spent: WindowUse, usage: RateUsage):
        return SquareError(
            "Too many requests: this token's one-minute limit is spent",
            status=429,
            category="RATE_LIMIT_ERROR",
            code="RATE_LIMITED",
            headers={"Retry-After": str(spent.reset_seconds)},
        ).response()

    def fault_rate_limited(self, faults):
        return self._fault_answer(429, faults)

    def fault_server_error(self, faults):
        return self._fault_answer(faults.server_error_status, faults)

    def _fault_answer(self, status: int, faults):
        category, code = FAULT_ERRORS.get(status, FAULT_ERRORS[500])
        retry = {"Retry-After": retry_after(faults)} if status in (429, 503) else {}
        return SquareError(
            f"The sandbox answers {status} ({code}) to this share of requests",
            status=status,
            category=category,
            code=code,
            headers=retry,
        ).response()

    def not_found(self, request):
        return SquareError("Resource not found", status=404, code="NOT_FOUND").response()

    def invalid_json(self, error: Exception) -> SquareError:
        return SquareError("The request body is not valid JSON", code="INVALID_CONTENT_TYPE")

    def not_an_object(self) -> SquareError:
        return SquareError("body must be an object", field="body")

    # The faults control: no token (a benchmark switches faults without being a seller);
    # ``?merchant_id=`` names one seller. The settings add each credential's budget of
    # ``requests_per_minute``.

    def faults_control_account(self, request) -> str:
        return request.GET.get("merchant_id", "")

    def faults_read(self, account: str) -> dict:
        return {
            **super().faults_read(account),
            "requests_per_minute": cache.get(LIMIT_CACHE_KEY, DEFAULT_REQUESTS_PER_MINUTE),
        }

    def faults_write(self, account: str, *, changes: Mapping) -> dict:
        changes = dict(changes)
        if "merchant_id" in changes:
            raise SquareError("Name the seller in the query: ?merchant_id=", field="merchant_id")
        limit = changes.pop("requests_per_minute", None)
        if limit is not None and (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_REQUESTS_PER_MINUTE
        ):
            raise SquareError(
                f"requests_per_minute must be a whole number from 1 to {MAX_REQUESTS_PER_MINUTE}",
                field="requests_per_minute",
            )
        super().faults_write(account, changes=changes)
        if limit is not None:
            cache.set(LIMIT_CACHE_KEY, limit, timeout=None)
        return self.faults_read(account)

    def faults_clear(self, account: str) -> None:
        super().faults_clear(account)
        if not account:
            cache.delete(LIMIT_CACHE_KEY)


api = SquareAPI()


def square_sandbox_faults(*, merchant_id: str = "") -> dict:
    """The fault settings now in force for every seller (the kit's schema), with the
    credentials' budget of ``requests_per_minute``."""
    return api.faults_read(merchant_id)


def square_sandbox_faults_set(*, merchant_id: str = "", **changes) -> dict:
    """Switch faults, e.g. ``square_sandbox_faults_set(rate_limit_rate=0.5)``; the others stay
    as they are. Raises SquareError (400) on an unknown name or a bad value, and nothing changes.

    ``merchant_id`` switches one seller's (the others keep every seller's);
    ``requests_per_minute`` is each credential's budget before it is answered 429.
    """
    return api.faults_write(merchant_id, changes=changes)


def square_sandbox_faults_reset(*, merchant_id: str = "") -> None:
    api.faults_clear(merchant_id)


# --- OAuth ---------------------------------------------------------------------------------


class SquareOAuth(OAuthServer):
    code_model = SquareSandboxAuthorizationCode
    token_model = SquareSandboxAccessToken
    code_lifetime = timedelta(minutes=5)
    access_token_lifetime = timedelta(days=30)
    scope_pattern = re.compile(r"[A-Z][A-Z_]{1,63}", re.ASCII)
    pkce_replaces_client_secret = True
    pkce_method_required = False
    code_challenge_pattern = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # base64url SHA-256
    max_parameter_length = 191
    authorize_redirect_extra = {"response_type": "code"}
    authorize_operation = "Authorize"
    token_operation = "ObtainToken"  # noqa: S105

    def app(self, client_id: str) -> OAuthApp | None:
        app_id, app_secret = sandbox_oauth_client()
        if not hmac.compare_digest(client_id.encode(), app_id.encode()):
            return None
        return OAuthApp(client_id=app_id, client_secret=app_secret)

    def consenting_account(self, *, app, params) -> SquareSandboxMerchant:
        """The seller the sandbox-only ``merchant_id`` names; without it a new seller."""
        if "merchant_id" not in params:
            return sandbox_merchant_create()
        merchant = SquareSandboxMerchant.objects.filter(merchant_id=params["merchant_id"]).first()
        if merchant is None:
            raise SquareError(
                f"Merchant `{params['merchant_id']}` not found",
                status=404,
                code="NOT_FOUND",
                field="merchant_id",
            )
        return merchant

    def authorize_redirect_uri(self, *, app, params) -> str:
        """The request's ``redirect_uri``, by default the app's registered one."""
        return super().authorize_redirect_uri(
            app=app,
            params={
                **params,
                "redirect_uri": params.get("redirect_uri")
                or getattr(settings, "SQUARE_SANDBOX_REDIRECT_URI", ""),
            },
        )

    def token_options(self, form: Mapping) -> dict:
        return {"short_lived": flag_field(form, "short_lived", default=False)}

    def access_token_lifetime_for(self, options: Mapping) -> timedelta:
        return SHORT_LIVED_TOKEN_LIFETIME if options["short_lived"] else self.access_token_lifetime

    def refresh_rotates_for(self, *, is_pkce: bool) -> bool:
        return is_pkce

    def refresh_token_lifetime_for(self, *, is_pkce: bool) -> timedelta | None:
        return timedelta(days=90) if is_pkce else None

    def refresh_scopes(self, grant, form: Mapping) -> list[str]:
        """ObtainToken may narrow a refresh to some of the granted scopes."""
        if form.get("scopes") is None:
            return grant.scopes
        requested = self.scopes_parsed(form["scopes"], field="scopes")
        return [scope for scope in grant.scopes if scope in requested]

    def new_code(self) -> str:
        return f"sq0cgb-{secrets.token_urlsafe(24)}"

    def new_access_token(self) -> str:
        return f"EAAA{secrets.token_urlsafe(48)}"

    def new_refresh_token(self) -> str:
        return f"EQAA{secrets.token_urlsafe(48)}"

    def token_answer(self, token) -> dict:
        answer = {
            "access_token": token.access_token,
            "token_type": "bearer",
            "expires_at": oauth_time(token.expires_at),
            "merchant_id": token.account.merchant_id,
            "refresh_token": token.refresh_token,
            "short_lived": token.short_lived,
        }
        if token.refresh_token_expires_at is not None:
            answer["refresh_token_expires_at"] = oauth_time(token.refresh_token_expires_at)
        return answer

    def token_form(self, request) -> Mapping:
        return self.api.json_body(request)

    def fail(self, failure: OAuthFailure, *, field: str = "") -> SquareError:
        if failure in UNAUTHORIZED:
            return unauthorized(self.failure_message(failure, field=field))
        if failure is OAuthFailure.BAD_SCOPE:
            detail = f"{field} must name one or more scopes like ORDERS_READ"
            return SquareError(detail, field=field)
        code = "MISSING_REQUIRED_PARAMETER" if failure is OAuthFailure.MISSING_PARAMETER else None
        return SquareError(
            self.failure_message(failure, field=field),
            code=code or "INVALID_VALUE",
            field=field,
        )


UNAUTHORIZED = frozenset(
    {
        OAuthFailure.TOKEN_UNKNOWN_CLIENT,
        OAuthFailure.BAD_CLIENT_SECRET,
        OAuthFailure.BAD_CODE,
        OAuthFailure.BAD_CODE_VERIFIER,
        OAuthFailure.BAD_REFRESH_TOKEN,
    }
)

oauth = SquareOAuth(api)


def sandbox_oauth_client() -> tuple[str, str]:
    """The sandbox app's (client_id, client_secret)."""
    return (
        getattr(settings, "SQUARE_SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID),
        getattr(settings, "SQUARE_SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
    )


def sandbox_oauth_revoke(*, body: Mapping, authorization: str) -> dict:
    """RevokeToken (``Authorization: Client <client_secret>``): every token of the seller's
    authorization, or only the one named when ``revoke_only_access_token``."""
    client_id, client_secret = sandbox_oauth_client()
    if not hmac.compare_digest(authorization.encode(), f"Client {client_secret}".encode()):
        raise unauthorized("RevokeToken needs the header `Authorization: Client <app secret>`")
    if body.get("client_id", client_id) != client_id:
        raise SquareError("client_id is not the sandbox app's", field="client_id")
    access_token = text_field(body, "access_token", max_length=128)
    merchant_id = text_field(body, "merchant_id", max_length=64)
    if access_token and merchant_id:
        raise SquareError(
            "Name access_token or merchant_id, not both",
            code="CONFLICTING_PARAMETERS",
            field="merchant_id",
        )
    only_this_token = flag_field(body, "revoke_only_access_token", default=False)
    tokens = SquareSandboxAccessToken.objects.filter(client_id=client_id, revoked_at__isnull=True)
    if access_token:
        named = tokens.filter(access_token=access_token).first()
        if named is None:
            raise SquareError(
                "No live access token matches", status=404, code="NOT_FOUND", field="access_token"
            )
        tokens = (
            tokens.filter(pk=named.pk) if only_this_token else tokens.filter(account=named.account)
        )
    elif merchant_id:
        tokens = tokens.filter(account__merchant_id=merchant_id)
    else:
        raise SquareError(
            "access_token or merchant_id is required",
            code="MISSING_REQUIRED_PARAMETER",
            field="access_token",
        )
    if not oauth.tokens_revoke(tokens):
        raise SquareError(
            f"Merchant `{merchant_id}` has no live token of this app",
            status=404,
            code="NOT_FOUND",
            field="merchant_id",
        )
    return {"success": True}


def sandbox_oauth_token_status(*, access_token: str) -> dict:
    """RetrieveTokenStatus of the bearer token; a seller's own token never expires."""
    client_id, _ = sandbox_oauth_client()
    merchant = (
        SquareSandboxMerchant.objects.filter(access_token=access_token).first()
        if access_token
        else None
    )
    if merchant is not None:
        return {"client_id": client_id, "merchant_id": merchant.merchant_id}
    token = oauth.access_token_live(access_token)
    if token is None:
        raise unauthorized()
    return {
        "scopes": token.scopes,
        "expires_at": oauth_time(token.expires_at),
        "client_id": token.client_id,
        "merchant_id": token.account.merchant_id,
    }


@api.endpoint("RevokeToken", authenticated=False)
def oauth_revoke_view(request, *, body):
    answer = sandbox_oauth_revoke(body=body, authorization=request.headers.get("Authorization", ""))
    return JsonResponse(answer)


@api.endpoint("RetrieveTokenStatus", authenticated=False, body=False)
def oauth_token_status_view(request):
    return JsonResponse(sandbox_oauth_token_status(access_token=bearer_token(request)))
