"""The endpoint decorator, error envelope, rate limits and URL table every sandbox is written on.

A sandbox describes its platform once, as a ``SandboxAPI`` subclass, and decorates its views
with the instance's ``endpoint``::

    class AcmeError(PlatformError):
        def body(self):
            return {"error": {"message": self.message}}


    class AcmeAPI(SandboxAPI):
        name = "acme"  # the fault store's and the rate counters' name for this sandbox
        error = AcmeError
        caller_argument = "shop"  # views receive the caller as ``shop=``
        rate_windows = (RateWindow("minute", 60),)

        def authenticate(self, request, *, scope):
            shop = AcmeShop.objects.filter(token=bearer_token(request)).first()
            if shop is None:
                raise AcmeError("unknown token", status=401)
            return shop

        def fault_account(self, request, caller):
            return caller.shop_id if caller else ""

        def rate_limits(self, caller):
            return {"minute": 600}

        def rate_headers(self, usage):
            minute = usage["minute"]
            return {"X-Acme-Remaining": str(minute.remaining)}


    api = AcmeAPI()


    @api.endpoint("list_orders")
    def orders_view(request, *, shop, body):
        return JsonResponse({"orders": [...]})


    # urls.py
    urlpatterns = api.urls(
        route("v1/orders", "orders", GET=orders_view),
        api.faults_route(),
    )

What ``endpoint`` does for every request, in this order: authenticate first when
``authenticate_first`` (else after the faults), count the request in each rate window (the
platform's headers on every answer from then on, ``rate_limited`` past an enforced limit), play
the account's faults (latency, 429 with Retry-After, 5xx, the platform's own refusal), parse the
JSON body strictly (an object; NaN and Infinity refused), call the view, answer any
``PlatformError`` in the platform's envelope, and lose the reply after the work is done when
the faults say so. ``counted=False``, ``faulted=False``, ``authenticated=False`` and
``body=False`` switch those steps off for one endpoint (the sandbox's own ``_sandbox/`` controls
are neither counted nor faulted).

Every hook has a default; a platform overrides only what differs: ``authenticate``,
``fault_account``, ``faults_for``, ``fault_rate_limited``, ``fault_server_error``,
``fault_platform_error``, ``rate_credential``, ``rate_limits``, ``rate_headers``,
``rate_limited``, ``reply_lost``, ``not_found``, ``invalid_json``, ``not_an_object``, and for
the faults control ``faults_control_account``, ``faults_read``, ``faults_write``,
``faults_clear``, ``faults_answer``.
"""

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from sandboxes.kit import faults as fault_store
from sandboxes.kit.models import SandboxFaults
from sandboxes.kit.rates import windows_count
from sandboxes.kit.views import method_dispatch


class PlatformError(Exception):
    """An error answer in a platform's own envelope; raise it anywhere below an endpoint.

    A platform subclasses it and gives ``body()``; ``status`` and ``headers`` travel with it.
    """

    def __init__(
        self, message: str = "", *, status: int = 400, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {"error": self.message}

    def response(self) -> HttpResponse:
        response = JsonResponse(self.body(), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


# --- rate limits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateWindow:
    """A fixed window requests are counted in; ``kind`` names it in the counters and in
    ``rate_limits``. A window that is not ``enforced`` is reported, never refused."""

    kind: str
    seconds: int
    enforced: bool = True


@dataclass(frozen=True)
class WindowUse:
    """One credential's use of one window, this request included."""

    window: RateWindow
    limit: int
    used: int
    ends_in: float

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def exceeded(self) -> bool:
        return self.window.enforced and self.used > self.limit

    @property
    def reset_seconds(self) -> int:
        """Whole seconds until the window ends, never 0 (a client must wait at least one)."""
        return max(1, math.ceil(self.ends_in))


@dataclass(frozen=True)
class RateUsage:
    """Every window's use for one request, in the platform's declared order."""

    uses: tuple[WindowUse, ...]

    def __getitem__(self, kind: str) -> WindowUse:
        return next(use for use in self.uses if use.window.kind == kind)

    def exceeded(self) -> WindowUse | None:
        """The first enforced window past its limit, in declared order, or None."""
        return next((use for use in self.uses if use.exceeded), None)


# --- requests ------------------------------------------------------------------------------


def bearer_token(request) -> str:
    """The token of ``Authorization: Bearer <token>``; "" when there is none."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""


def query_params(request) -> dict[str, str]:
    """The query string, one value per name (the last one given)."""
    return {name: request.GET[name] for name in request.GET}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def json_strict(raw: bytes | str) -> object:
    """JSON as the platforms parse it: bad UTF-8, NaN and Infinity refused (ValueError)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return json.loads(text, parse_constant=_refuse_constant)


@dataclass(frozen=True)
class Route:
    """One path of a sandbox: a view per HTTP method."""

    path: str
    name: str
    handlers: Mapping[str, Callable]


def route(path_: str, name: str, **handlers: Callable) -> Route:
    """``route("v2/orders/<str:order_id>", "order", GET=retrieve_view, PUT=update_view)``."""
    return Route(path=path_, name=name, handlers=handlers)


class SandboxAPI:
    """One simulated platform's HTTP conventions; see the module's docstring."""

    # The sandbox's name in the fault store and the rate counters: "square", "hubspot", ...
    name = ""
    # The platform's error; raised below an endpoint, answered in its envelope.
    error: type[PlatformError] = PlatformError
    # The keyword a view receives the authenticated caller as.
    caller_argument = "caller"
    # True: authenticate before counting and faults (a refused credential is neither counted
    # nor faulted); False: after the faults (a bad token still counts and can be faulted).
    authenticate_first = False
    # Methods whose body is parsed as a JSON object for ``body=``; other methods get {}.
    body_methods = frozenset({"POST", "PUT", "PATCH"})
    # What an empty body parses as ("{}": nothing sent is an empty object; "null": refused).
    empty_body = "{}"
    # The operations ``only_operations`` may name. Empty: each endpoint's operation is added as
    # it is declared. Not empty: an endpoint must name one of them.
    operations: frozenset[str] = frozenset()
    # The windows each request is counted in, checked in this order; none: not counted.
    rate_windows: tuple[RateWindow, ...] = ()
    # Methods the faults control accepts a change with.
    faults_write_methods = frozenset({"POST", "PUT"})

    def __init__(self):
        self._operations = set(self.operations)
        self._register_operations()
        self.route_not_found = csrf_exempt(self._route_not_found)

    # --- the decorator ---------------------------------------------------------------------

    def endpoint(
        self,
        operation: str = "",
        *,
        scope: str | None = None,
        authenticated: bool = True,
        faulted: bool = True,
        counted: bool = True,
        body: bool = True,
    ):
        """Wrap a view ``(request, *, <caller_argument>, body, **url_kwargs)``; the caller
        is passed when ``authenticated``, the body when ``body``. ``operation`` names the
        endpoint for the faults' ``only_operations``; ``scope`` is handed to ``authenticate``."""
        if operation:
            if self.operations and operation not in self.operations:
                raise ValueError(f"Unknown {self.name} sandbox operation {operation!r}")
            if operation not in self._operations:
                self._operations.add(operation)
                self._register_operations()

        def decorate(view):
            @csrf_exempt
            @functools.wraps(view)
            def wrapped(request, **kwargs):
                caller, usage, faults, reached = None, None, None, False
                try:
                    if authenticated and self.authenticate_first:
                        caller = self.authenticate(request, scope=scope)
                    if counted and self.rate_windows:
                        usage = self.rate_count(request, caller)
                        spent = usage.exceeded()
                        if spent is not None:
                            return self._finish(self.rate_limited(spent, usage), usage)
                    if faulted:
                        faults = self.faults_for(request, caller)
                        refused = self.fault_refusal(faults, operation=operation)
                        if refused is not None:
                            return self._finish(refused, usage)
                    if authenticated and not self.authenticate_first:
                        caller = self.authenticate(request, scope=scope)
                    arguments = dict(kwargs)
                    if authenticated:
                        arguments[self.caller_argument] = caller
                    if body:
                        arguments["body"] = (
                            self.json_body(request) if request.method in self.body_methods else {}
                        )
                    reached = True
                    response = view(request, **arguments)
                except self.error as error:
                    response = error.response()
                if (
                    reached
                    and faults is not None
                    and (not operation or faults.applies_to(operation))
                    and fault_store.happens(faults.dropped_reply_rate)
                ):
                    return self.reply_lost(request, caller=caller, faults=faults)
                return self._finish(response, usage)

            return wrapped

        return decorate

    def methods(self, **handlers: Callable):
        """One path, a view per HTTP method; other methods get the platform's ``not_found``."""
        return method_dispatch(not_found=self.route_not_found, **handlers)

    def urls(self, *routes: Route) -> list:
        """The sandbox's URL patterns: each route, then the platform's answer to any other
        path."""
        return [
            *(path(one.path, self.methods(**one.handlers), name=one.name) for one in routes),
            re_path(r"^", self.route_not_found),
        ]

    def json_body(self, request) -> Mapping:
        """The request's body as a JSON object, or the platform's error."""
        try:
            parsed = json_strict(request.body or self.empty_body)
        except (ValueError, RecursionError) as error:
            raise self.invalid_json(error) from None
        if not isinstance(parsed, Mapping):
            raise self.not_an_object()
        return parsed

    # --- rate limits -----------------------------------------------------------------------

    def rate_count(self, request, caller) -> RateUsage:
        """Count this request in each of the credential's windows."""
        credential = self.rate_credential(request, caller)
        limits = self.rate_limits(caller)
        counts = windows_count(
            sandbox=self.name,
            credential=credential,
            windows=tuple((window.kind, window.seconds) for window in self.rate_windows),
        )
        uses = [
            WindowUse(
                window=window, limit=limits[window.kind], used=count.used, ends_in=count.ends_in
            )
            for window, count in zip(self.rate_windows, counts, strict=True)
        ]
        return RateUsage(uses=tuple(uses))

    def rate_credential(self, request, caller) -> str:
        """What requests are counted by: the Authorization header, else the client's address."""
        return request.headers.get("Authorization") or f"address {request.META.get('REMOTE_ADDR')}"

    def rate_limits(self, caller) -> Mapping[str, int]:
        """Each window's limit, by ``kind``."""
        return {window.kind: 0 for window in self.rate_windows}

    def rate_headers(self, usage: RateUsage) -> Mapping[str, str]:
        """The platform's rate-limit headers, put on every counted answer."""
        return {}

    def rate_limited(self, spent: WindowUse, usage: RateUsage) -> HttpResponse:
        """The answer past an enforced limit."""
        return self.error(
            "Too many requests", status=429, headers={"Retry-After": str(spent.reset_seconds)}
        ).response()

    # --- faults ----------------------------------------------------------------------------

    def fault_account(self, request, caller) -> str:
        """The account whose faults apply ("" for every account's)."""
        return ""

    def faults_for(self, request, caller) -> SandboxFaults:
        """The faults a request plays: its ``fault_account``'s, from the fault store."""
        return fault_store.faults_get(
            sandbox=self.name, account=self.fault_account(request, caller)
        )

    def fault_refusal(self, faults: SandboxFaults, *, operation: str) -> HttpResponse | None:
        return fault_store.refusal(
            faults,
            operation=operation,
            rate_limited=self.fault_rate_limited,
            server_error=self.fault_server_error,
            platform_error=self.fault_platform_error,
        )

    def fault_rate_limited(self, faults: SandboxFaults) -> HttpResponse:
        return self.error(
            "Too many requests",
            status=429,
            headers={"Retry-After": fault_store.retry_after(faults)},
        ).response()

    def fault_server_error(self, faults: SandboxFaults) -> HttpResponse:
        return self.error(
            "The sandbox answers this share of requests with a server error",
            status=faults.server_error_status,
            headers={"Retry-After": fault_store.retry_after(faults)},
        ).response()

    def fault_platform_error(self, faults: SandboxFaults) -> HttpResponse | None:
        """The platform's own transient refusal; None: the platform has none."""
        return None

    def reply_lost(self, request, *, caller, faults: SandboxFaults) -> HttpResponse:
        """The work is done and committed; the client never gets the answer."""
        return fault_store.reply_lost(request, faults)

    # --- errors ----------------------------------------------------------------------------

    def not_found(self, request) -> HttpResponse:
        return self.error("Resource not found", status=404).response()

    def invalid_json(self, error: Exception) -> PlatformError:
        return self.error("The request body is not valid JSON")

    def not_an_object(self) -> PlatformError:
        return self.error("The request body must be a JSON object")

    def authenticate(self, request, *, scope: str | None):
        """The caller the request acts for, or raise the platform's error."""
        return None

    # --- the faults control ----------------------------------------------------------------

    def faults_route(self, path_: str = "_sandbox/faults", name: str = "faults") -> Route:
        """``_sandbox/faults``: GET the switches, POST or PUT some of them (a JSON object),
        DELETE to switch them all off; neither counted nor faulted."""
        view = self.endpoint(authenticated=False, faulted=False, counted=False, body=False)(
            self._faults_view
        )
        methods = {"GET": view, "DELETE": view} | dict.fromkeys(self.faults_write_methods, view)
        return Route(path=path_, name=name, handlers=methods)

    def _faults_view(self, request):
        account = self.faults_control_account(request)
        if request.method in self.faults_write_methods:
            settings = self.faults_write(account, changes=self.json_body(request))
        elif request.method == "DELETE":
            self.faults_clear(account)
            settings = self.faults_read(account)
        else:
            settings = self.faults_read(account)
        return self.faults_answer(settings)

    def faults_control_account(self, request) -> str:
        """The account a faults request is about ("" for every account)."""
        return ""

    def faults_read(self, account: str) -> dict:
        return fault_store.faults_dict(fault_store.faults_get(sandbox=self.name, account=account))

    def faults_write(self, account: str, *, changes: Mapping) -> dict:
        """Switch some faults; the platform's 400 on an unknown name or a bad value."""
        try:
            fault_store.faults_set(sandbox=self.name, account=account, changes=changes)
        except ValidationError as error:
            raise self.error("; ".join(error.messages)) from None
        return self.faults_read(account)

    def faults_clear(self, account: str) -> None:
        fault_store.faults_reset(sandbox=self.name, account=account)

    def faults_answer(self, settings: dict) -> HttpResponse:
        return JsonResponse(settings)

    # --- plumbing --------------------------------------------------------------------------

    def _finish(self, response: HttpResponse, usage: RateUsage | None) -> HttpResponse:
        if usage is not None:
            for name, value in self.rate_headers(usage).items():
                response[name] = value
        return response

    def _route_not_found(self, request, **kwargs):
        return self.not_found(request)

    def _register_operations(self) -> None:
        fault_store.operations_register(sandbox=self.name, operations=frozenset(self._operations))
