"""Pipedrive's HTTP conventions on the kit: its error envelope, OAuth bearer tokens or personal
API tokens, the 2-second burst window in ``x-ratelimit-*`` headers, and its OAuth server.

API requests carry ``Authorization: Bearer <access token>`` or a personal token in
``x-api-token`` (v2) / ``?api_token=`` (v1); 401 ``unauthorized access`` otherwise. Each token is
counted in fixed 2-second windows (``company.burst_limit``); every answer says
``x-ratelimit-limit``, ``-remaining`` and ``-reset`` (seconds left), and past the limit it is a
429 in Pipedrive's body. Faults apply to the company the token opens.

OAuth: the app of a company is its ``client_id`` / ``client_secret``, sent in HTTP Basic on the
token and revoke calls; authorize approves at once (no scope parameter: an app's scopes are set
in Pipedrive's Developer Hub); codes last 5 minutes, access tokens 3599 s; a refresh answers
the same refresh token; every token answer names ``api_domain``, this sandbox's root on the
site asked. Revoking a refresh token (or an access token) ends the grant.
"""

import base64
import binascii
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse

from sandboxes.kit.endpoints import PlatformError, RateUsage, RateWindow, SandboxAPI, bearer_token
from sandboxes.kit.oauth import OAuthApp, OAuthFailure, OAuthServer, account_or_public_app
from sandboxes.pipedrive.models import (
    PipedriveSandboxAccessToken,
    PipedriveSandboxAuthorizationCode,
    PipedriveSandboxCompany,
)

RATE_WINDOW_SECONDS = 2
SCOPES = ["base", "deals:full", "products:read", "contacts:read", "webhooks:full"]
# OAuth failures that are a bad grant (400 invalid_grant), not a client that is not who it says.
GRANT_FAILURES = frozenset({OAuthFailure.BAD_CODE, OAuthFailure.BAD_REFRESH_TOKEN})


class PipedriveError(PlatformError):
    """``{"success": false, "error": ..., "errorCode": ...}`` (429s add ``error_info``)."""

    def body(self) -> dict:
        body = {"success": False, "error": self.message, "errorCode": self.status}
        if self.status == 429:
            body["error_info"] = "Please check developers.pipedrive.com"
        return body


class OAuthError(PipedriveError):
    """The OAuth server's errors: ``{"error": <code>, "message": ...}``."""

    def __init__(self, message: str = "", *, status: int = 400, headers=None, code="invalid"):
        super().__init__(message, status=status, headers=headers)
        self.code = code

    def body(self) -> dict:
        return {"error": self.code, "message": self.message}


class PipedriveAPI(SandboxAPI):
    name = "pipedrive"
    error = PipedriveError
    caller_argument = "company"
    # A refused token is answered 401 before it is counted or faulted.
    authenticate_first = True
    rate_windows = (RateWindow("burst", RATE_WINDOW_SECONDS),)

    def authenticate(self, request, *, scope: str | None) -> PipedriveSandboxCompany:
        token = oauth.access_token_live(bearer_token(request))
        if token is not None:
            return token.account
        personal = request.headers.get("x-api-token") or request.GET.get("api_token", "")
        company = PipedriveSandboxCompany.objects.filter(api_token=personal or None).first()
        if company is None:
            raise PipedriveError("unauthorized access", status=401)
        return company

    def rate_credential(self, request, caller) -> str:
        return (
            request.headers.get("Authorization")
            or request.headers.get("x-api-token")
            or request.GET.get("api_token", "")
        )

    def fault_account(self, request, caller) -> str:
        return str(caller.company_id) if caller is not None else ""

    def rate_limits(self, caller) -> Mapping[str, int]:
        return {"burst": caller.burst_limit}

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        burst = usage["burst"]
        return {
            "x-ratelimit-limit": str(burst.limit),
            "x-ratelimit-remaining": str(burst.remaining),
            "x-ratelimit-reset": str(burst.reset_seconds),
        }

    def rate_limited(self, spent, usage):
        return PipedriveError("Request over limit", status=429).response()

    def not_found(self, request):
        return PipedriveError("Unknown method .", status=404).response()

    def invalid_json(self, error: Exception) -> PipedriveError:
        return PipedriveError("The body is not JSON")

    def not_an_object(self) -> PipedriveError:
        return PipedriveError("The body must be a JSON object")

    def faults_control_account(self, request) -> str:
        """The company the bearer or personal token opens; none: every company's switches."""
        try:
            return str(self.authenticate(request, scope=None).company_id)
        except PipedriveError:
            return ""


api = PipedriveAPI()


# The sandbox's public app (a Marketplace app any company may install), whose id and secret are
# the ones the site's Pipedrive app settings default to: "OAuth against our sandbox" uses it.
DEFAULT_CLIENT_ID = "sandbox-pipedrive-taxpoynt"
DEFAULT_CLIENT_SECRET = "sandbox-pipedrive-secret"  # noqa: S105


def sandbox_public_app() -> tuple[str, str]:
    """The sandbox's public app's (client_id, client_secret)."""
    return (
        getattr(settings, "PIPEDRIVE_SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID),
        getattr(settings, "PIPEDRIVE_SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
    )


class PipedriveOAuth(OAuthServer):
    code_model = PipedriveSandboxAuthorizationCode
    token_model = PipedriveSandboxAccessToken
    code_lifetime = timedelta(minutes=5)
    access_token_lifetime = timedelta(seconds=3599)
    refresh_rotates = False
    scope_separator = ","
    pkce_method_required = False
    # Pipedrive's burst limit counts API tokens; the OAuth server's calls are not counted.
    endpoint_options = {"counted": False}

    def app(self, client_id: str) -> OAuthApp | None:
        """A company's own app (installed in that company only), or the public app."""
        return account_or_public_app(
            client_id, accounts=PipedriveSandboxCompany, public_app=sandbox_public_app()
        )

    def consenting_account(self, *, app: OAuthApp, params: Mapping[str, str]):
        """The public app is installed in a new company (as a new Pipedrive user would sign up
        on the consent page)."""
        if app.account is not None:
            return app.account
        # The server module builds on this one: imported here, when it is loaded.
        from sandboxes.pipedrive.server import sandbox_company_create

        return sandbox_company_create(redirect_uri=params.get("redirect_uri", ""))

    def authorize_scopes(self, params: Mapping[str, str]) -> list[str]:
        return list(SCOPES)

    def token_form(self, request) -> Mapping:
        """The form, with the client from HTTP Basic (Pipedrive takes it nowhere else) and the
        ``api_domain`` the answer names."""
        form = {**request.POST.dict()}
        form.pop("client_id", None)
        form.pop("client_secret", None)
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pair = ""
            client_id, _, client_secret = pair.partition(":")
            form.update(client_id=client_id, client_secret=client_secret)
        return {**form, "api_domain": api_root(request)}

    def token_options(self, form: Mapping) -> dict:
        return {"api_domain": form["api_domain"]}

    def new_access_token(self) -> str:
        return f"v1u:{secrets.token_urlsafe(32)}"

    def new_refresh_token(self) -> str:
        return secrets.token_hex(24)

    def token_answer(self, token) -> dict:
        return {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": round((token.expires_at - token.created_at).total_seconds()),
            "refresh_token": token.refresh_token,
            "scope": self.scope_separator.join(token.scopes),
            "api_domain": token.api_domain,
        }

    def fail(self, failure: OAuthFailure, *, field: str = "") -> OAuthError:
        message = self.failure_message(failure, field=field)
        if failure in GRANT_FAILURES:
            return OAuthError(f"Invalid grant: {message}", code="invalid_grant")
        if failure in (OAuthFailure.TOKEN_UNKNOWN_CLIENT, OAuthFailure.BAD_CLIENT_SECRET):
            return OAuthError(message, status=401, code="invalid_client")
        return OAuthError(message, code="invalid_request")


oauth = PipedriveOAuth(api)


def api_root(request) -> str:
    """This sandbox's root on the site asked: the ``api_domain`` its tokens are for."""
    return request.build_absolute_uri(reverse("pipedrive_sandbox:root")).rstrip("/")


@api.endpoint("revoke", authenticated=False, counted=False, body=False)
def oauth_revoke_view(request):
    """``POST /oauth/revoke`` (``token``, ``token_type_hint``), the client in HTTP Basic."""
    form = oauth.token_form(request)
    app = oauth.app(form.get("client_id", ""))
    secret = form.get("client_secret", "")
    if app is None or not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
        raise oauth.fail(OAuthFailure.BAD_CLIENT_SECRET)
    token = form.get("token", "")
    named = oauth.token_for_bearer(token)
    oauth.grant_revoke(named.refresh_token if named is not None else token)
    return JsonResponse({"success": True})
