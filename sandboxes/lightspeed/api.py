"""Lightspeed X-Series' HTTP conventions on the kit: its error envelope, bearer tokens, the
per-store request budget and its headers, and its OAuth server.

Requests carry ``Authorization: Bearer <token>``: the store's personal token or one the OAuth
flow issued. Each store has one budget per application in 5-minute windows, ``300 x registers
+ 50`` requests unless the store's ``requests_per_window`` says otherwise; every counted answer
carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``, and past the budget it is a 429
``{"error": "Too Many Requests", "message": "Rate limiting enforced"}`` with ``Retry-After`` as
an HTTP date. Faults apply to the store the token names (else every store's switches).

OAuth: the sandbox app is ``PLATFORM_APPS["lightspeed"]``'s client. ``/connect`` approves at
once, for the store the sandbox-only ``domain_prefix`` parameter names or else a new one, and
redirects with a 10-minute single-use code and the store's ``domain_prefix``. ``/api/1.0/token``
takes form bodies; access tokens last 24 h; a refresh answers with a new refresh token and the
old one is spent. Lightspeed has no revoke call.
"""

import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.http import http_date

from sandboxes.kit.endpoints import (
    PlatformError,
    RateUsage,
    RateWindow,
    SandboxAPI,
    WindowUse,
    bearer_token,
)
from sandboxes.kit.faults import retry_after
from sandboxes.kit.oauth import OAuthApp, OAuthFailure, OAuthServer, url_with
from sandboxes.lightspeed.models import (
    LightspeedSandboxAccessToken,
    LightspeedSandboxAuthorizationCode,
    LightspeedSandboxObject,
    LightspeedSandboxStore,
)

WINDOW_SECONDS = 300
REQUESTS_PER_REGISTER = 300
REQUESTS_PER_STORE = 50
DEMO_CATALOGUE = (
    # (name, sku, tax-exclusive price in naira, standard-rated)
    ("Mama Gold Rice 5kg", "10001", Decimal("12500"), False),
    ("Indomie Chicken 70g (carton of 40)", "10002", Decimal("8500"), True),
    ("Peak Milk Powder 400g", "10003", Decimal("3200"), True),
    ("Milo Refill 500g", "10004", Decimal("3750"), True),
    ("Kings Vegetable Oil 1L", "10005", Decimal("2900"), True),
    ("Hollandia Yoghurt 1L", "10006", Decimal("1850"), True),
    ("Gala Sausage Roll", "10007", Decimal("200"), True),
    ("Eva Table Water 75cl (pack of 12)", "10008", Decimal("2400"), True),
    ("Golden Penny Semovita 1kg", "10009", Decimal("1800"), True),
    ("Dangote Sugar 500g", "10010", Decimal("950.50"), True),
)
VAT_RATE = Decimal("0.075")
CASH_PAYMENT_TYPE = "1"


class LightspeedError(PlatformError):
    """Lightspeed's error answer: ``{"error": <title>, "message": <detail>}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        title: str = "Bad Request",
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message, status=status, headers=headers)
        self.title = title

    def body(self) -> dict:
        return {"error": self.title, "message": self.message}


def not_found(what: str = "The resource was not found") -> LightspeedError:
    return LightspeedError(what, status=404, title="Not Found")


def unauthorized(message: str = "The access token is missing, expired or revoked"):
    return LightspeedError(message, status=401, title="Unauthorized")


def new_id() -> str:
    return str(uuid.uuid4())


# --- stores --------------------------------------------------------------------------------


def sandbox_store_create(*, domain_prefix: str = "", registers: int = 1) -> LightspeedSandboxStore:
    """A store with one outlet (NGN), its registers, VAT at 7.5 % and no tax, a small grocery
    catalogue, a walk-in and a business customer, and the cash payment type."""
    store = LightspeedSandboxStore.objects.create(
        domain_prefix=domain_prefix or f"store{secrets.token_hex(5)}",
        retailer_id=new_id(),
        personal_token=f"lsxs_pt_{secrets.token_urlsafe(32)}",
        registers=registers,
    )
    outlet = _object(store, "outlet", {"name": "Ikeja Outlet", "currency": "NGN"})
    for number in range(1, registers + 1):
        _object(store, "register", {"name": f"Register {number}", "outlet_id": outlet["id"]})
    vat = _object(
        store,
        "tax",
        {
            "name": "VAT",
            "is_default": True,
            "rates": [{"id": new_id(), "name": "VAT", "rate": float(VAT_RATE)}],
        },
    )
    exempt = _object(
        store,
        "tax",
        {
            "name": "No Tax",
            "is_default": False,
            "rates": [{"id": new_id(), "name": "No Tax", "rate": 0}],
        },
    )
    for name, sku, price, standard in DEMO_CATALOGUE:
        _object(
            store,
            "product",
            {
                "name": name,
                "sku": sku,
                "price_excluding_tax": float(price),
                "tax_id": (vat if standard else exempt)["id"],
            },
        )
    _object(
        store,
        "customer",
        {"first_name": "Walk-in", "last_name": "Customer", "customer_code": "WALKIN"},
    )
    _object(
        store,
        "customer",
        {
            "first_name": "Ada",
            "last_name": "Okafor",
            "company_name": "Okafor Provisions Ltd",
            "email": "accounts@okafor.example.ng",
            "phone": "08031234567",
            "physical_address_1": "12 Allen Avenue",
            "physical_city": "Ikeja",
            "physical_postcode": "100271",
            "physical_state": "NG-LA",
            "physical_country_id": "NG",
            "custom_field_1": "12345678-0001",
        },
    )
    _object(store, "payment_type", {"name": "Cash", "payment_type_id": CASH_PAYMENT_TYPE})
    return store


def _object(store, kind: str, data: dict) -> dict:
    data = {"id": new_id(), **data, "version": 1}
    LightspeedSandboxObject.objects.create(store=store, kind=kind, object_id=data["id"], data=data)
    return data


def store_of_token(token: str) -> LightspeedSandboxStore | None:
    """The store a personal or OAuth access token opens, when the token is live."""
    if not token:
        return None
    store = LightspeedSandboxStore.objects.filter(personal_token=token).first()
    if store is not None:
        return store
    grant = oauth.access_token_live(token)
    return grant.account if grant is not None else None


# --- the API's conventions -----------------------------------------------------------------


class LightspeedAPI(SandboxAPI):
    name = "lightspeed"
    error = LightspeedError
    caller_argument = "store"
    # The budget belongs to the store: a bad token is refused before it is counted.
    authenticate_first = True
    rate_windows = (RateWindow("window", WINDOW_SECONDS),)

    def authenticate(self, request, *, scope: str | None) -> LightspeedSandboxStore:
        store = store_of_token(bearer_token(request))
        if store is None:
            raise unauthorized()
        return store

    def fault_account(self, request, caller) -> str:
        return caller.domain_prefix if caller is not None else ""

    def rate_credential(self, request, caller) -> str:
        return (
            f"store {caller.domain_prefix}"
            if caller is not None
            else super().rate_credential(request, caller)
        )

    def rate_limits(self, caller) -> Mapping[str, int]:
        if caller is None:
            return {"window": REQUESTS_PER_STORE}
        budget = caller.requests_per_window or (
            REQUESTS_PER_REGISTER * caller.registers + REQUESTS_PER_STORE
        )
        return {"window": budget}

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        window = usage["window"]
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
        }

    def rate_limited(self, spent: WindowUse, usage: RateUsage):
        return _too_many(http_date(timezone.now().timestamp() + spent.reset_seconds))

    def fault_rate_limited(self, faults):
        return _too_many(retry_after(faults))

    def fault_server_error(self, faults):
        status = faults.server_error_status
        return LightspeedError(
            f"The sandbox answers {status} to this share of requests",
            status=status,
            title="Internal Server Error" if status == 500 else "Service Unavailable",
        ).response()

    def not_found(self, request):
        return not_found().response()

    def invalid_json(self, error: Exception) -> LightspeedError:
        return LightspeedError("The request body is not valid JSON")

    def not_an_object(self) -> LightspeedError:
        return LightspeedError("The request body must be a JSON object")

    # The faults control: ``?domain_prefix=`` names one store, whose ``requests_per_window``
    # (null: Lightspeed's formula) may be set with the faults.

    def faults_control_account(self, request) -> str:
        return request.GET.get("domain_prefix", "")

    def faults_read(self, account: str) -> dict:
        store = LightspeedSandboxStore.objects.filter(domain_prefix=account).first()
        budget = store.requests_per_window if store is not None else None
        return {**super().faults_read(account), "requests_per_window": budget}

    def faults_write(self, account: str, *, changes: Mapping) -> dict:
        changes = dict(changes)
        if "requests_per_window" in changes:
            budget = changes.pop("requests_per_window")
            if budget is not None and (
                isinstance(budget, bool) or not isinstance(budget, int) or budget < 1
            ):
                raise LightspeedError("requests_per_window must be a whole number from 1, or null")
            stores = LightspeedSandboxStore.objects.filter(domain_prefix=account)
            if not account or not stores.update(requests_per_window=budget):
                raise LightspeedError("Name the store in the query: ?domain_prefix=")
        super().faults_write(account, changes=changes)
        return self.faults_read(account)


def _too_many(retry_at: str):
    return LightspeedError(
        "Rate limiting enforced",
        status=429,
        title="Too Many Requests",
        headers={"Retry-After": retry_at},
    ).response()


api = LightspeedAPI()


# --- OAuth ---------------------------------------------------------------------------------


def sandbox_oauth_client() -> tuple[str, str]:
    """The sandbox app's (client_id, client_secret): the site's own Lightspeed app."""
    app = settings.PLATFORM_APPS["lightspeed"]
    return app["client_id"], app["client_secret"]


class LightspeedOAuth(OAuthServer):
    code_model = LightspeedSandboxAuthorizationCode
    token_model = LightspeedSandboxAccessToken
    code_lifetime = timedelta(minutes=10)
    access_token_lifetime = timedelta(hours=24)
    refresh_rotates = True
    authorize_operation = "connect"
    token_operation = "token"  # noqa: S105
    # The token endpoint has its own limits, not the store's budget.
    endpoint_options = {"counted": False}

    def app(self, client_id: str) -> OAuthApp | None:
        app_id, app_secret = sandbox_oauth_client()
        if not hmac.compare_digest(client_id.encode(), app_id.encode()):
            return None
        return OAuthApp(client_id=app_id, client_secret=app_secret)

    def authorize_scopes(self, params) -> list[str]:
        return []  # no scopes: an application is granted the whole store

    def consenting_account(self, *, app, params) -> LightspeedSandboxStore:
        """The store the sandbox-only ``domain_prefix`` names; without it a new store."""
        prefix = params.get("domain_prefix")
        if not prefix:
            return sandbox_store_create()
        store = LightspeedSandboxStore.objects.filter(domain_prefix=prefix).first()
        if store is None:
            raise not_found(f"No store {prefix!r}")
        return store

    def authorize(self, *, params) -> str:
        target = super().authorize(params=params)
        code = target.split("code=", 1)[1].split("&", 1)[0]
        store = self.code_model.objects.get(code=code).account
        return url_with(target, domain_prefix=store.domain_prefix)

    def token_answer(self, token) -> dict:
        lifetime = round((token.expires_at - token.created_at).total_seconds())
        return {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires": round(token.expires_at.timestamp()),
            "expires_in": lifetime,
            "refresh_token": token.refresh_token,
        }

    def token_form(self, request) -> Mapping:
        # A form body, as Lightspeed takes it; a query string is not read.
        return request.POST.dict()

    def fail(self, failure: OAuthFailure, *, field: str = "") -> LightspeedError:
        message = self.failure_message(failure, field=field)
        if failure in (
            OAuthFailure.TOKEN_UNKNOWN_CLIENT,
            OAuthFailure.BAD_CLIENT_SECRET,
            OAuthFailure.BAD_CODE,
            OAuthFailure.BAD_REFRESH_TOKEN,
        ):
            return LightspeedError(message, status=401, title="invalid_grant")
        return LightspeedError(message, title="invalid_request")


oauth = LightspeedOAuth(api)
