"""Salesforce's HTTP conventions on the kit: errors as a JSON array of ``{message, errorCode}``,
Bearer sessions (401 ``INVALID_SESSION_ID`` once the org's session timeout has passed), the
org's daily allocation counted in a 24-hour window and reported in ``Sforce-Limit-Info`` on
every answer (403 ``REQUEST_LIMIT_EXCEEDED`` once spent, and as the rate fault), and its OAuth
server: the web-server flow with PKCE, answers without ``expires_in`` but with ``id``,
``issued_at``, ``instance_url`` and ``signature`` (HMAC-SHA256 of ``id + issued_at`` under the
client secret), refresh answers without a refresh token, OAuth errors as
``{error, error_description}``."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse

from sandboxes.kit.endpoints import PlatformError, RateUsage, RateWindow, SandboxAPI, bearer_token
from sandboxes.kit.oauth import OAuthApp, OAuthFailure, OAuthServer, account_or_public_app
from sandboxes.salesforce.models import (
    SalesforceSandboxAccessToken,
    SalesforceSandboxAuthorizationCode,
    SalesforceSandboxOrg,
)

SCOPES = ["api", "refresh_token"]
_request_root: ContextVar[str] = ContextVar("salesforce_sandbox_root", default="")
_grant_type: ContextVar[str] = ContextVar("salesforce_sandbox_grant", default="")
GRANT_FAILURES = frozenset({OAuthFailure.BAD_CODE, OAuthFailure.BAD_REFRESH_TOKEN})
DEFAULT_CLIENT_ID = "sandbox-salesforce-taxpoynt"
DEFAULT_CLIENT_SECRET = "sandbox-salesforce-secret"  # noqa: S105


class SalesforceError(PlatformError):
    def __init__(self, message="", *, status=400, headers=None, code="INVALID_REQUEST"):
        super().__init__(message, status=status, headers=headers)
        self.code = code

    def body(self):
        return [{"message": self.message, "errorCode": self.code}]

    def response(self) -> HttpResponse:
        response = HttpResponse(
            json.dumps(self.body()), status=self.status, content_type="application/json"
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


class OAuthError(SalesforceError):
    def body(self):
        return {"error": self.code, "error_description": self.message}


def limit_exceeded() -> SalesforceError:
    return SalesforceError(
        "TotalRequests Limit exceeded.", status=403, code="REQUEST_LIMIT_EXCEEDED"
    )


class SalesforceAPI(SandboxAPI):
    name = "salesforce"
    error = SalesforceError
    caller_argument = "org"
    authenticate_first = True
    rate_windows = (RateWindow("day", 86_400),)

    def authenticate(self, request, *, scope: str | None) -> SalesforceSandboxOrg:
        token = oauth.access_token_live(bearer_token(request))
        if token is None:
            raise SalesforceError(
                "Session expired or invalid", status=401, code="INVALID_SESSION_ID"
            )
        return token.account

    def rate_credential(self, request, caller) -> str:
        return caller.org_id if caller is not None else ""

    def rate_limits(self, caller) -> Mapping[str, int]:
        return {"day": caller.api_max}

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        day = usage["day"]
        return {"Sforce-Limit-Info": f"api-usage={min(day.used, day.limit)}/{day.limit}"}

    def rate_limited(self, spent, usage):
        return limit_exceeded().response()

    def fault_rate_limited(self, faults):
        return limit_exceeded().response()

    def fault_account(self, request, caller) -> str:
        return caller.org_id if caller is not None else ""

    def not_found(self, request):
        return SalesforceError(
            "The requested resource does not exist", status=404, code="NOT_FOUND"
        ).response()

    def invalid_json(self, error: Exception) -> SalesforceError:
        return SalesforceError("The request body is not JSON", code="JSON_PARSER_ERROR")

    def not_an_object(self) -> SalesforceError:
        return SalesforceError("The request body must be an object", code="JSON_PARSER_ERROR")

    def faults_control_account(self, request) -> str:
        try:
            return self.authenticate(request, scope=None).org_id
        except SalesforceError:
            return request.GET.get("org_id", "")


api = SalesforceAPI()


def sandbox_public_app() -> tuple[str, str]:
    return (
        getattr(settings, "SALESFORCE_SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID),
        getattr(settings, "SALESFORCE_SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
    )


class SalesforceOAuth(OAuthServer):
    code_model = SalesforceSandboxAuthorizationCode
    token_model = SalesforceSandboxAccessToken
    code_lifetime = timedelta(minutes=15)
    refresh_rotates = False
    pkce_method_required = False
    # The OAuth endpoints are not API calls: not counted in the allocation.
    endpoint_options = {"counted": False}
    authorize_operation = "oauth2/authorize"
    token_operation = "oauth2/token"  # noqa: S105

    def app(self, client_id: str) -> OAuthApp | None:
        return account_or_public_app(
            client_id, accounts=SalesforceSandboxOrg, public_app=sandbox_public_app()
        )

    def consenting_account(self, *, app: OAuthApp, params: Mapping[str, str]):
        """The public app is installed in a new org (a user signing up on the consent page)."""
        if app.account is not None:
            return app.account
        from sandboxes.salesforce.server import sandbox_org_create

        return sandbox_org_create(redirect_uri=params.get("redirect_uri", ""))

    def authorize_scopes(self, params: Mapping[str, str]) -> list[str]:
        asked = (params.get("scope") or "").split()
        return [scope for scope in asked if scope in SCOPES] or list(SCOPES)

    def token(self, *, form: Mapping) -> dict:
        _request_root.set(form.get("_root", ""))
        _grant_type.set(form.get("grant_type", ""))
        return super().token(form=form)

    def token_form(self, request) -> Mapping:
        return {**request.POST.dict(), "_root": api_root(request)}

    def token_issue(self, *, account, **kwargs):
        token = super().token_issue(account=account, **kwargs)
        # A session lasts the org's session timeout; the answer never says how long.
        token.expires_at = token.created_at + timedelta(seconds=account.session_seconds)
        token.save(update_fields=["expires_at"])
        return token

    def token_answer(self, token) -> dict:
        root = _request_root.get()
        identity = f"{root}/id/{token.account.org_id}/{token.account.user_id}"
        issued_at = str(int(time.time() * 1000))
        app = self.app(token.client_id)
        digest = hmac.new(
            app.client_secret.encode(), f"{identity}{issued_at}".encode(), hashlib.sha256
        ).digest()
        answer = {
            "access_token": token.access_token,
            "signature": base64.b64encode(digest).decode(),
            "scope": " ".join(token.scopes),
            "instance_url": root,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        # A refresh answers a new session only; the refresh token stays the one it was.
        if _grant_type.get() == "authorization_code":
            answer["refresh_token"] = token.refresh_token
        return answer

    def fail(self, failure: OAuthFailure, *, field: str = "") -> OAuthError:
        message = self.failure_message(failure, field=field)
        if failure in GRANT_FAILURES:
            return OAuthError("expired access/refresh token", code="invalid_grant")
        if failure in (OAuthFailure.TOKEN_UNKNOWN_CLIENT, OAuthFailure.BAD_CLIENT_SECRET):
            return OAuthError("invalid client credentials", status=400, code="invalid_client")
        return OAuthError(message, code="invalid_request")


oauth = SalesforceOAuth(api)


def api_root(request) -> str:
    """This sandbox's root on the site asked: the login host, and every org's instance_url."""
    return request.build_absolute_uri(reverse("salesforce_sandbox:root")).rstrip("/")


@api.endpoint("oauth2/revoke", authenticated=False, counted=False, body=False)
def oauth_revoke_view(request):
    token = request.POST.get("token", "")
    named = oauth.token_for_bearer(token)
    oauth.grant_revoke(named.refresh_token if named is not None else token)
    return JsonResponse({})
