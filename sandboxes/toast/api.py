"""Toast's HTTP conventions on the kit: its error envelope, machine-client logins and bearer
tokens, the restaurant header, rate-limit headers and faults.

A machine client logs in at ``authentication/v1/authentication/login`` (no rate-limit headers,
at most ``LOGINS_PER_HOUR`` logins an hour per client, then 429) and gets a bearer token for a
day. Every other request carries ``Authorization: Bearer <token>`` and
``Toast-Restaurant-External-ID`` naming the token's restaurant (400 without it, 403 for
another). Requests are counted per restaurant in fixed windows of 1 s (20) and 15 min (10 000);
every answer says ``X-Toast-RateLimit-By``, ``-Remaining`` and ``-Reset`` (UNIX seconds), and
past a limit a 429 carries ``Retry-After``.
"""

import math
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta

from django.utils import timezone

from sandboxes.kit.endpoints import PlatformError, RateUsage, RateWindow, SandboxAPI, WindowUse
from sandboxes.kit.rates import window_count
from sandboxes.toast.models import ToastSandboxLogin, ToastSandboxRestaurant

RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
TOKEN_LIFETIME = timedelta(days=1)
# Toast asks clients to log in no more than twice an hour; the sandbox refuses the third.
LOGINS_PER_HOUR = 2
REQUESTS_PER_SECOND = 20
REQUESTS_PER_SLICE = 10_000
SLICE_SECONDS = 900
BULK_REQUESTS_PER_SECOND = 5


class ToastError(PlatformError):
    """Toast's error answer: ``{status, code, message, fieldName?, requestId}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: int = 10000,
        field: str = "",
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message, status=status, headers=headers)
        self.message = message
        self.code = code
        self.field = field

    def body(self) -> dict:
        body = {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "requestId": str(uuid.uuid4()),
        }
        if self.field:
            body["fieldName"] = self.field
        return body


def sandbox_restaurant_create(*, name: str = "Mama Put Kitchen, Yaba") -> ToastSandboxRestaurant:
    return ToastSandboxRestaurant.objects.create(
        restaurant_guid=str(uuid.uuid4()),
        name=name,
        client_id=secrets.token_urlsafe(24),
        client_secret=secrets.token_urlsafe(48),
    )


def login_make(*, client_id: str, client_secret: str) -> ToastSandboxLogin:
    """A login of the machine client; ToastError 401 for bad credentials, 429 past the limit."""
    restaurant = ToastSandboxRestaurant.objects.filter(client_id=client_id).first()
    if restaurant is None or not secrets.compare_digest(
        restaurant.client_secret.encode(), client_secret.encode()
    ):
        raise ToastError("Invalid client credentials", status=401, code=10011)
    now = timezone.now()
    recent = restaurant.logins.filter(created_at__gt=now - timedelta(hours=1)).count()
    if recent >= LOGINS_PER_HOUR:
        raise ToastError(
            f"More than {LOGINS_PER_HOUR} logins an hour: reuse the token",
            status=429,
            code=10029,
            headers={"Retry-After": "3600"},
        )
    return ToastSandboxLogin.objects.create(
        restaurant=restaurant,
        access_token=secrets.token_urlsafe(48),
        created_at=now,
        expires_at=now + TOKEN_LIFETIME,
    )


class ToastAPI(SandboxAPI):
    name = "toast"
    error = ToastError
    caller_argument = "restaurant"
    rate_windows = (
        RateWindow("second", 1),
        RateWindow("slice", SLICE_SECONDS),
    )

    def authenticate(self, request, *, scope: str | None) -> ToastSandboxRestaurant:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        login = (
            ToastSandboxLogin.objects.select_related("restaurant")
            .filter(access_token=token, expires_at__gt=timezone.now())
            .first()
            if token
            else None
        )
        if login is None:
            raise ToastError("Access token is missing, invalid or expired", status=401, code=10010)
        named = request.headers.get(RESTAURANT_HEADER, "")
        if not named:
            raise ToastError(
                f"The {RESTAURANT_HEADER} header is required", code=10002, field=RESTAURANT_HEADER
            )
        if named != login.restaurant.restaurant_guid:
            raise ToastError("This client has no access to that restaurant", status=403, code=10003)
        return login.restaurant

    def rate_credential(self, request, caller) -> str:
        # Toast counts per location when the request names one, else per address.
        named = request.headers.get(RESTAURANT_HEADER)
        return f"restaurant {named}" if named else f"address {request.META.get('REMOTE_ADDR')}"

    def rate_limits(self, caller) -> Mapping[str, int]:
        return {"second": REQUESTS_PER_SECOND, "slice": REQUESTS_PER_SLICE}

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        tightest = min(usage.uses, key=lambda use: use.remaining)
        return rate_header_values(tightest, by="GLOBAL")

    def rate_limited(self, spent: WindowUse, usage: RateUsage):
        return ToastError(
            "Rate limit exceeded",
            status=429,
            code=10029,
            headers={
                **rate_header_values(spent, by="GLOBAL"),
                "Retry-After": str(spent.reset_seconds),
            },
        ).response()

    def fault_account(self, request, caller) -> str:
        return request.headers.get(RESTAURANT_HEADER, "")

    def faults_control_account(self, request) -> str:
        return request.GET.get("restaurant_guid", "")


def rate_header_values(use: WindowUse, *, by: str) -> dict:
    return {
        "X-Toast-RateLimit-By": by,
        "X-Toast-RateLimit-Remaining": str(use.remaining),
        "X-Toast-RateLimit-Reset": str(math.ceil(time.time() + use.reset_seconds)),
    }


def bulk_rate_check(restaurant: ToastSandboxRestaurant) -> None:
    """ordersBulk's own limit: 5 requests a second per location."""
    count = window_count(
        sandbox="toast",
        kind="bulk-second",
        credential=restaurant.restaurant_guid,
        seconds=1,
    )
    if count.used > BULK_REQUESTS_PER_SECOND:
        use = WindowUse(
            window=RateWindow("bulk-second", 1),
            limit=BULK_REQUESTS_PER_SECOND,
            used=count.used,
            ends_in=count.ends_in,
        )
        raise ToastError(
            "ordersBulk rate limit exceeded",
            status=429,
            code=10029,
            headers={
                **rate_header_values(use, by="ENDPOINT"),
                "Retry-After": str(use.reset_seconds),
            },
        )


api = ToastAPI()
