"""HubSpot's HTTP conventions on the kit: its error bodies, bearer tokens, rate-limit budgets,
fault answers and its OAuth server.

- An account is a ``HubSpotSandboxPortal`` with one app installed: its OAuth client (authorize
  approves at once) and its private-app token both open the CRM endpoints as
  ``Authorization: Bearer <token>``.
- Tokens: access tokens last 30 minutes; refresh tokens until revoked (revoking one revokes the
  access tokens issued under it). PKCE is optional; when a challenge is sent it must be S256.
  The OAuth endpoints are neither counted nor faulted.
- Every CRM answer to an authenticated request carries HubSpot's rate-limit headers. Each token
  has a ten-second budget (``portal.ten_secondly_limit``, counted in fixed ten-second windows)
  and a daily one; over either, 429 with HubSpot's body and ``Retry-After``. The secondly headers
  are reported, not enforced.
- Faults per account (``sandbox_faults_set``, ``PUT /sandbox/hubspot/_sandbox/faults`` with the
  account's token, or the admin): latency and a share of CRM requests answered 429 or 5xx.
"""

import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from sandboxes.hubspot.models import (
    HubSpotSandboxAccessToken,
    HubSpotSandboxAuthorizationCode,
    HubSpotSandboxPortal,
)
from sandboxes.kit.endpoints import (
    PlatformError,
    RateUsage,
    RateWindow,
    SandboxAPI,
    WindowUse,
    bearer_token,
)
from sandboxes.kit.faults import retry_after
from sandboxes.kit.oauth import OAuthApp, OAuthFailure, OAuthServer, account_or_public_app
from taxpoynt.lib.rows import row_by

ACCESS_TOKEN_SECONDS = 1800
RATE_WINDOW_SECONDS = 10
UNAUTHENTICATED_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class HubSpotError(PlatformError):
    """A HubSpot CRM error answer: ``{status: "error", message, correlationId, category}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        category: str = "VALIDATION_ERROR",
        errors: tuple[dict, ...] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message, status=status, headers=headers)
        self.category = category
        self.errors = errors

    def body(self) -> dict:
        body = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        if self.errors:
            body["errors"] = list(self.errors)
        return body


class OAuthError(HubSpotError):
    """HubSpot's OAuth endpoints put the error code in ``status`` (``BAD_REFRESH_TOKEN``...)."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message, status=status, category=code)

    def body(self) -> dict:
        return {
            "status": self.category,
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
        }


def rate_limited_response(*, policy: str, retry_after: float) -> HttpResponse:
    """HubSpot's 429 (``error-429-ten-secondly-rolling.json``) with ``Retry-After``."""
    response = JsonResponse(
        {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "requestId": str(uuid.uuid4()),
        },
        status=429,
    )
    response["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response


class HubSpotAPI(SandboxAPI):
    name = "hubspot"
    error = HubSpotError
    caller_argument = "portal"
    authenticate_first = True
    # DAILY first: when both are spent, it lasts longest.
    rate_windows = (
        RateWindow("day", 86_400),
        RateWindow("ten", RATE_WINDOW_SECONDS),
        RateWindow("second", 1, enforced=False),
    )

    def authenticate(self, request, *, scope: str | None) -> HubSpotSandboxPortal:
        """The account a ``Bearer`` access token or private-app token opens."""
        token = bearer_token(request)
        if token:
            portal = row_by(HubSpotSandboxPortal, field="private_app_token", value=token)
            if portal is not None:
                return portal
            access = oauth.token_for_bearer(token)
            if access is not None and access.revoked_at is None:
                expired_for = (timezone.now() - access.expires_at).total_seconds()
                if expired_for >= 0:
                    raise HubSpotError(
                        f"The OAuth token used to make this call expired {int(expired_for)} "
                        "second(s) ago.",
                        status=401,
                        category="EXPIRED_AUTHENTICATION",
                    )
                return access.account
        raise HubSpotError(UNAUTHENTICATED_MESSAGE, status=401, category="INVALID_AUTHENTICATION")

    def fault_account(self, request, caller: HubSpotSandboxPortal) -> str:
        return str(caller.hub_id)

    def rate_credential(self, request, caller) -> str:
        return bearer_token(request)

    def rate_limits(self, caller: HubSpotSandboxPortal) -> Mapping[str, int]:
        return {
            "day": caller.daily_limit,
            "ten": caller.ten_secondly_limit,
            "second": max(1, caller.ten_secondly_limit // RATE_WINDOW_SECONDS),
        }

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        day, ten, second = usage["day"], usage["ten"], usage["second"]
        return {
            "X-HubSpot-RateLimit-Daily": str(day.limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(day.remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(RATE_WINDOW_SECONDS * 1000),
            "X-HubSpot-RateLimit-Max": str(ten.limit),
            "X-HubSpot-RateLimit-Remaining": str(ten.remaining),
            "X-HubSpot-RateLimit-Secondly": str(second.limit),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(second.remaining),
        }

    def rate_limited(self, spent: WindowUse, usage: RateUsage) -> HttpResponse:
        policy = "DAILY" if spent.window.kind == "day" else "TEN_SECONDLY_ROLLING"
        return rate_limited_response(policy=policy, retry_after=spent.ends_in)

    def fault_rate_limited(self, faults) -> HttpResponse:
        return rate_limited_response(
            policy="TEN_SECONDLY_ROLLING", retry_after=faults.retry_after_seconds
        )

    def fault_server_error(self, faults) -> HttpResponse:
        return HubSpotError(
            "internal error",
            status=faults.server_error_status,
            category="INTERNAL_ERROR",
            headers={"Retry-After": retry_after(faults)},
        ).response()

    def not_found(self, request) -> HttpResponse:
        return HubSpotError(
            "Resource not found", status=404, category="OBJECT_NOT_FOUND"
        ).response()

    def invalid_json(self, error: Exception) -> HubSpotError:
        return HubSpotError(f"Invalid input JSON: {error}")

    def not_an_object(self) -> HubSpotError:
        return HubSpotError("The request body must be an object")

    def faults_control_account(self, request) -> str:
        """The account of the request's own token."""
        return str(self.authenticate(request, scope=None).hub_id)


api = HubSpotAPI()


def sandbox_faults(*, portal: HubSpotSandboxPortal) -> dict:
    return api.faults_read(str(portal.hub_id))


def sandbox_faults_set(*, portal: HubSpotSandboxPortal, changes: Mapping) -> dict:
    """Switch an account's faults, e.g. ``{"rate_limit_rate": 0.5}``; others stay as they are."""
    return api.faults_write(str(portal.hub_id), changes=changes)


def sandbox_faults_reset(*, portal: HubSpotSandboxPortal) -> dict:
    api.faults_clear(str(portal.hub_id))
    return sandbox_faults(portal=portal)


# --- OAuth ---------------------------------------------------------------------------------

BAD_CLIENT_ID = ("BAD_CLIENT_ID", "missing or unknown client_id")
BAD_CLIENT_SECRET = ("BAD_CLIENT_SECRET", "missing or invalid client_secret")
BAD_AUTH_CODE = ("BAD_AUTH_CODE", "missing or unknown auth code")
BAD_REFRESH_TOKEN = ("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
OAUTH_ERRORS = {
    OAuthFailure.UNKNOWN_CLIENT: BAD_CLIENT_ID,
    OAuthFailure.TOKEN_UNKNOWN_CLIENT: BAD_CLIENT_ID,
    OAuthFailure.BAD_REDIRECT_URI: (
        "BAD_REDIRECT_URI",
        "redirect_uri does not match the app's redirect URL",
    ),
    OAuthFailure.REDIRECT_URI_MISMATCH: (
        "BAD_REDIRECT_URI",
        "redirect_uri does not match the authorize request",
    ),
    OAuthFailure.BAD_SCOPE: ("BAD_SCOPE", "scope is required"),
    OAuthFailure.BAD_CODE_CHALLENGE_METHOD: (
        "BAD_CODE_CHALLENGE",
        "code_challenge_method must be S256",
    ),
    OAuthFailure.BAD_CODE_CHALLENGE: (
        "BAD_CODE_CHALLENGE",
        "code_challenge is not a base64url SHA-256",
    ),
    OAuthFailure.BAD_CLIENT_SECRET: BAD_CLIENT_SECRET,
    OAuthFailure.BAD_GRANT_TYPE: (
        "BAD_GRANT_TYPE",
        "grant_type must be authorization_code or refresh_token",
    ),
    OAuthFailure.BAD_CODE: BAD_AUTH_CODE,
    OAuthFailure.BAD_CODE_VERIFIER: (
        "BAD_AUTH_CODE",
        "code_verifier does not match the code_challenge",
    ),
    OAuthFailure.BAD_REFRESH_TOKEN: BAD_REFRESH_TOKEN,
}
# A parameter missing or malformed is refused as the thing it should have named.
OAUTH_ERRORS_BY_FIELD = {
    "client_id": BAD_CLIENT_ID,
    "client_secret": BAD_CLIENT_SECRET,
    "code": BAD_AUTH_CODE,
    "code_verifier": BAD_AUTH_CODE,
    "refresh_token": BAD_REFRESH_TOKEN,
}


# The sandbox's public app (a marketplace app any portal may install), whose id and secret are
# the ones the site's HubSpot app settings default to: "OAuth against our sandbox" uses it.
DEFAULT_CLIENT_ID = "sandbox-hubspot-taxpoynt"
DEFAULT_CLIENT_SECRET = "sandbox-hubspot-secret"  # noqa: S105


def sandbox_public_app() -> tuple[str, str]:
    """The sandbox's public app's (client_id, client_secret)."""
    return (
        getattr(settings, "HUBSPOT_SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID),
        getattr(settings, "HUBSPOT_SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
    )


class HubSpotOAuth(OAuthServer):
    code_model = HubSpotSandboxAuthorizationCode
    token_model = HubSpotSandboxAccessToken
    code_lifetime = timedelta(minutes=10)
    access_token_lifetime = timedelta(seconds=ACCESS_TOKEN_SECONDS)
    code_challenge_pattern = OAuthServer.code_verifier_pattern
    endpoint_options = {"faulted": False, "counted": False}

    def app(self, client_id: str) -> OAuthApp | None:
        """A portal's own app (installed in that portal only), or the public app."""
        return account_or_public_app(
            client_id, accounts=HubSpotSandboxPortal, public_app=sandbox_public_app()
        )

    def consenting_account(self, *, app: OAuthApp, params: Mapping[str, str]):
        """The public app is installed in the portal the sandbox-only ``hub_id`` names, else in
        a new portal (as a new HubSpot user would sign up on the consent page)."""
        if app.account is not None:
            return app.account
        if "hub_id" not in params:
            # The server module builds on this one: imported here, when it is loaded.
            from sandboxes.hubspot.server import sandbox_portal_create

            return sandbox_portal_create()
        hub_id = str(params["hub_id"])
        portal = (
            HubSpotSandboxPortal.objects.filter(hub_id=int(hub_id)).first()
            if hub_id.isdigit()
            else None
        )
        if portal is None:
            raise OAuthError("BAD_REQUEST", f"no portal {hub_id}")
        return portal

    def authorize_scopes(self, params: Mapping[str, str]) -> list[str]:
        required = self.scopes_parsed(params.get("scope", ""), field="scope")
        return required + params.get("optional_scope", "").split()

    def new_code(self) -> str:
        return str(uuid.uuid4())

    def new_access_token(self) -> str:
        return f"CN{secrets.token_urlsafe(96)}"

    def new_refresh_token(self) -> str:
        return str(uuid.uuid4())

    def token_answer(self, token) -> dict:
        return {
            "token_type": "bearer",
            "refresh_token": token.refresh_token,
            "access_token": token.access_token,
            "expires_in": ACCESS_TOKEN_SECONDS,
        }

    def fail(self, failure: OAuthFailure, *, field: str = "") -> OAuthError:
        code, message = OAUTH_ERRORS.get(failure) or OAUTH_ERRORS_BY_FIELD.get(
            field, ("BAD_REQUEST", self.failure_message(failure, field=field))
        )
        return OAuthError(code, message)


oauth = HubSpotOAuth(api)


def _not_found(kind: str) -> HubSpotError:
    return HubSpotError(f"{kind} token not found", status=404, category="OBJECT_NOT_FOUND")


def sandbox_access_token_info(*, token: str) -> dict:
    access = oauth.access_token_live(token)
    if access is None:
        raise _not_found("Access")
    portal = access.account
    return {
        "token": access.access_token,
        "user": "sandbox-user@taxpoynt.test",
        "hub_domain": portal.hub_domain,
        "scopes": access.scopes,
        "hub_id": portal.hub_id,
        "app_id": portal.app_id,
        "expires_in": max(0, int((access.expires_at - timezone.now()).total_seconds())),
        "user_id": 1,
        "token_type": "access",
    }


def sandbox_refresh_token_info(*, token: str) -> dict:
    grant = oauth.grant_live(token)
    if grant is None:
        raise _not_found("Refresh")
    portal = grant.account
    return {
        "token": grant.refresh_token,
        "user": "sandbox-user@taxpoynt.test",
        "hub_domain": portal.hub_domain,
        "scopes": grant.scopes,
        "hub_id": portal.hub_id,
        "client_id": portal.client_id,
        "user_id": 1,
        "token_type": "refresh",
    }


def sandbox_refresh_token_revoke(*, token: str) -> None:
    """Revoke a refresh token and every access token issued under it."""
    if oauth.grant_live(token) is None:
        raise _not_found("Refresh")
    oauth.grant_revoke(token)


@api.endpoint(authenticated=False, faulted=False, counted=False, body=False)
def access_token_view(request, *, token):
    return JsonResponse(sandbox_access_token_info(token=token))


@api.endpoint(authenticated=False, faulted=False, counted=False, body=False)
def refresh_token_view(request, *, token):
    if request.method == "DELETE":
        sandbox_refresh_token_revoke(token=token)
        return HttpResponse(status=204)
    return JsonResponse(sandbox_refresh_token_info(token=token))
