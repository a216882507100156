"""HTTP client for the FIRS (NRS) MBS e-invoicing API.

One client per tenant's credentials. The only retries made here are for connections that could
not be opened, where the request provably never reached FIRS; every other failure is raised for
the caller's retry policy (backoff and jitter in the pipeline). A circuit breaker whose state
lives in the shared cache holds every process's calls back while FIRS is failing.
"""

import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import getproxies

import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from invoices.firs.errors import (
    DuplicateIrn,
    FirsAuthenticationError,
    FirsCircuitOpen,
    FirsError,
    FirsNotFound,
    FirsPermanentError,
    FirsRateLimited,
    FirsTransientError,
    FirsUnreachable,
)
from invoices.signals import firs_circuit_closed
from taxpoynt.lib.http import retry_after_seconds

logger = logging.getLogger(__name__)

# (connect, read) seconds.
DEFAULT_TIMEOUT = (5.0, 20.0)
# Extra attempts for connections that could not be opened (refused, DNS, connect timeout).
CONNECT_RETRIES = 2
RESOURCE_NAMES = frozenset(
    {
        "invoice-types",
        "tax-categories",
        "payment-means",
        "currencies",
        "vat-exemptions",
        "hs-codes",
        "services-codes",
    }
)
PAYMENT_STATUSES = frozenset({"PENDING", "PAID", "REJECTED"})
# NRS answers "server busy" as HTTP 400 with these phrases in its error message: retryable.
BUSY_PHRASES = (
    "try again later",
    "unable to complete this operation at this time",
    "we are unable to process your request",
    "temporarily unavailable",
    "please try again",
)
# Every MBS validation error carries this public_message, whose wording overlaps the busy
# phrases; only details and message tell a busy answer from a rejected invoice.
VALIDATION_BOILERPLATE = "validation failed:"
AUTH_FAILURE_PHRASE = "unable to validate api key"


@dataclass(frozen=True)
class FirsResponse:
    status: int
    # The envelope's "data"; the whole body when there is no envelope (GET /api).
    data: Any
    # The parsed body, whole, for the audit trail (FIRS documents no shape for the sign reply).
    body: Any


@dataclass(frozen=True)
class ErrorReply:
    """The fields of an MBS error envelope (``{code, message, error: {...}}``), empty where
    absent."""

    message: str = ""
    details: str = ""
    public_message: str = ""
    error_id: str = ""
    field_errors: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        """What to show a person: details, else public_message, else message (as clients do)."""
        return self.details or self.public_message or self.message


class SharedCircuitBreaker:
    """A circuit breaker whose state lives in Django's cache, so all processes share it.

    ``fail_max`` consecutive outage failures (from any process) open it for ``reset_timeout``
    seconds; after that one caller, across all processes, may probe, and its outcome closes or
    re-opens it. A reply from a working server (including a 4xx rejection) counts as a success.
    pybreaker is not used: its breaker holds a lock for the whole call, which would serialise a
    process's threads, and its half-open state lets every process probe at once.
    """

    # A failure streak is forgotten this long after its first failure.
    FAILURE_MEMORY_SECONDS = 3600
    # Until when this process saw each breaker closed with no streak (by name, shared by its
    # threads): calls then skip the cache, so the usual call costs no round trip. Another
    # process's opening is seen that much later; this process's own writes forget it at once.
    _seen_clean_until: dict[str, float] = {}

    def __init__(self, *, name: str, fail_max: int = 5, reset_timeout: float = 60.0):
        self.name = name
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        prefix = f"firs-breaker:{name}:"
        self._failures_key = prefix + "failures"
        self._open_until_key = prefix + "open-until"
        self._probe_key = prefix + "probe"
        # What this thread's last before_call saw (one breaker serves a thread's calls in turn).
        self._local = threading.local()

    @property
    def state(self) -> str:
        open_until = cache.get(self._open_until_key)
        if open_until is None:
            return "closed"
        return "open" if open_until > time.time() else "half-open"

    def before_call(self) -> bool:
        """Raise ``FirsCircuitOpen`` while open; return True when this call is the probe."""
        if self._seen_clean_until.get(self.name, 0.0) > time.monotonic():
            self._local.dirty = self._local.was_open = False
            return False
        try:
            state = cache.get_many([self._open_until_key, self._failures_key])
            if not state:
                self._seen_clean_until[self.name] = (
                    time.monotonic() + settings.FIRS_BREAKER_CLEAN_MEMORY_SECONDS
                )
            # A success only has something to clear when a streak or an opening was seen.
            self._local.dirty = bool(state)
            open_until = state.get(self._open_until_key)
            # Only the probe gets past an opening: its success is what closes the circuit.
            self._local.was_open = open_until is not None
            if open_until is None:
                return False
            wait = open_until - time.time()
            # Whole seconds: Redis expiries are integers, and 0 would expire the claim at once.
            probe_ttl = max(1, math.ceil(self.reset_timeout))
            if wait <= 0 and cache.add(self._probe_key, True, timeout=probe_ttl):
                return True
        except Exception:
            self._log_cache_failure()
            return False
        raise self._open_error(wait if wait > 0 else self.reset_timeout)

    def record_success(self) -> None:
        if getattr(self._local, "dirty", True) is False:
            return
        try:
            cache.delete_many([self._failures_key, self._open_until_key, self._probe_key])
        except Exception:
            self._log_cache_failure()
            return
        if getattr(self._local, "was_open", False):
            self._local.was_open = False
            logger.info("FIRS circuit %s closed", self.name)
            firs_circuit_closed.send(sender=type(self), host=self.name)

    def record_failure(self, *, probing: bool) -> None:
        self._seen_clean_until.pop(self.name, None)
        try:
            if probing or self._count_failure() >= self.fail_max:
                self._open()
        except Exception:
            self._log_cache_failure()

    def reset(self) -> None:
        self.record_success()

    def _count_failure(self) -> int:
        cache.add(self._failures_key, 0, timeout=self.FAILURE_MEMORY_SECONDS)
        try:
            return cache.incr(self._failures_key)
        except ValueError:  # expired between add and incr
            return 1

    def _open(self) -> None:
        self._seen_clean_until.pop(self.name, None)
        # No expiry: once the wait is over the key marks the half-open state until a probe ends it.
        cache.set(self._open_until_key, time.time() + self.reset_timeout, timeout=None)
        cache.delete_many([self._failures_key, self._probe_key])
        logger.warning("FIRS circuit %s opened for %s s", self.name, self.reset_timeout)

    def _log_cache_failure(self) -> None:
        # The breaker must never stop FIRS calls on its own: without the cache it stays closed.
        logger.warning("FIRS circuit %s: cache unavailable, circuit treated as closed", self.name)

    def _open_error(self, wait: float) -> FirsCircuitOpen:
        error = FirsCircuitOpen(
            f"FIRS at {self.name} is failing; calls are held back for {wait:.0f} s", status=None
        )
        error.retry_after = wait
        return error


def firs_session() -> requests.Session:
    """A session that retries only connections that could not be opened, quickly.

    Pass one to several clients to share its connection pool (create it after any fork).
    """
    retry = Retry(
        total=CONNECT_RETRIES,
        connect=CONNECT_RETRIES,
        read=False,
        status=0,
        other=0,
        redirect=False,
        backoff_factor=0.2,
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # Proxies from the environment once, not re-read from os.environ on every request.
    session.trust_env = False
    session.proxies = getproxies()
    return session


_thread_sessions = threading.local()


def thread_firs_session() -> requests.Session:
    """This thread's FIRS session: keep-alive connections reused across invoices and steps."""
    session = getattr(_thread_sessions, "session", None)
    if session is None:
        session = _thread_sessions.session = firs_session()
    return session


class FirsClient:
    """The MBS calls an SI makes. Each returns a ``FirsResponse`` or raises a ``FirsError``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float | tuple[float, float],
        session: requests.Session | None = None,
        breaker: SharedCircuitBreaker | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self.timeout = timeout
        self._owns_session = session is None
        self.session = session or firs_session()
        self.breaker = breaker or SharedCircuitBreaker(
            name=urlsplit(self.base_url).netloc,
            fail_max=settings.FIRS_BREAKER_FAIL_MAX,
            reset_timeout=settings.FIRS_BREAKER_RESET_SECONDS,
        )

    def __repr__(self):
        return f"<FirsClient {self.base_url}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        """Close the connections of the session this client made (not of one passed in)."""
        if self._owns_session:
            self.session.close()

    def health(self) -> FirsResponse:
        return self._call("GET", "/api", operation="health", authenticated=False)

    def validate_irn(self, *, business_id: str, invoice_reference: str, irn: str) -> FirsResponse:
        body = {"business_id": str(business_id), "invoice_reference": invoice_reference, "irn": irn}
        return self._call(
            "POST", "/api/v1/invoice/irn/validate", operation="validate_irn", body=body, irn=irn
        )

    def validate(self, *, invoice: Mapping) -> FirsResponse:
        """Dry run of the whole invoice; registers nothing."""
        return self._call(
            "POST",
            "/api/v1/invoice/validate",
            operation="validate",
            body=invoice,
            irn=invoice.get("irn", ""),
        )

    def sign(self, *, invoice: Mapping) -> FirsResponse:
        """The official submission. On a transient error, ``confirm`` before signing again."""
        return self._call(
            "POST",
            "/api/v1/invoice/sign",
            operation="sign",
            body=invoice,
            irn=invoice.get("irn", ""),
        )

    def transmit(self, *, irn: str) -> FirsResponse:
        return self._call(
            "POST", f"/api/v1/invoice/transmit/{_segment(irn)}", operation="transmit", irn=irn
        )

    def confirm(self, *, irn: str) -> FirsResponse:
        """What FIRS holds for the IRN (``transmitted``, ``delivered``); else ``FirsNotFound``."""
        return self._call(
            "GET", f"/api/v1/invoice/confirm/{_segment(irn)}", operation="confirm", irn=irn
        )

    def download(self, *, irn: str) -> FirsResponse:
        return self._call(
            "GET", f"/api/v1/invoice/download/{_segment(irn)}", operation="download", irn=irn
        )

    def update_payment_status(
        self, *, irn: str, payment_status: str, reference: str = ""
    ) -> FirsResponse:
        if payment_status not in PAYMENT_STATUSES:
            raise ValueError(f"payment_status must be one of {sorted(PAYMENT_STATUSES)}")
        body = {"payment_status": payment_status}
        if reference:
            body["reference"] = reference
        return self._call(
            "PATCH",
            f"/api/v1/invoice/update/{_segment(irn)}",
            operation="update_payment_status",
            body=body,
            irn=irn,
        )

    def resources(self, *, name: str) -> FirsResponse:
        """A FIRS code list, e.g. ``currencies``; the resource endpoints take no credentials."""
        if name not in RESOURCE_NAMES:
            raise ValueError(f"Unknown FIRS resource {name!r}; use one of {sorted(RESOURCE_NAMES)}")
        return self._call(
            "GET", f"/api/v1/invoice/resources/{name}", operation="resources", authenticated=False
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: Mapping | None = None,
        authenticated: bool = True,
        irn: str = "",
    ) -> FirsResponse:
        try:
            probing = self.breaker.before_call()
        except FirsCircuitOpen as error:
            error.operation = operation
            raise
        headers = {"accept": "application/json"}
        if authenticated:
            headers.update({"x-api-key": self._api_key, "x-api-secret": self._api_secret})
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, default=_json_number)
        started = time.monotonic()
        try:
            response = self.session.request(
                method, self.base_url + path, data=data, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            error = transport_error(exc, operation=operation)
            if not isinstance(error, FirsPermanentError):
                self.breaker.record_failure(probing=probing)
            _log_failure(error, path=path, started=started)
            raise error from exc

        body = _json_body(response)
        error = reply_error(response, body=body, operation=operation, irn=irn)
        if _signals_outage(error):
            self.breaker.record_failure(probing=probing)
        else:
            self.breaker.record_success()
        if error is not None:
            _log_failure(error, path=path, started=started)
            raise error
        logger.debug(
            "FIRS %s %s -> %s in %.0f ms",
            operation,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        data = body["data"] if isinstance(body, dict) and "data" in body else body
        return FirsResponse(status=response.status_code, data=data, body=body)


def firs_client_for(
    *,
    organization,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
) -> FirsClient:
    """The client for a tenant's FIRS configuration (base URL, API key and secret)."""
    if not organization.firs_base_url:
        raise FirsPermanentError(f"{organization} has no FIRS base URL configured")
    # An undecryptable secret is falsy (UnreadableSecret): the tenant must re-enter it.
    if not organization.firs_api_key or not organization.firs_api_secret:
        raise FirsAuthenticationError(
            f"The FIRS API key or secret of {organization} is missing or unreadable: re-enter it"
        )
    return FirsClient(
        organization.firs_base_url,
        str(organization.firs_api_key),
        str(organization.firs_api_secret),
        timeout=timeout,
        session=session or thread_firs_session(),
    )


def transport_error(exc: requests.RequestException, *, operation: str) -> FirsError:
    """Classify a failure that left no HTTP reply."""
    if _never_sent(exc):
        error = FirsUnreachable(f"FIRS {operation}: could not connect to FIRS")
    elif isinstance(exc, requests.Timeout):
        error = FirsTransientError(
            f"FIRS {operation}: no reply in time; FIRS may have processed the request"
        )
    elif isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        error = FirsTransientError(
            f"FIRS {operation}: the connection broke before the reply; "
            "FIRS may have processed the request"
        )
    else:  # a malformed base URL and the like: retrying cannot help
        error = FirsPermanentError(f"FIRS {operation}: {type(exc).__name__}")
    error.operation = operation
    return error


def reply_error(
    response: requests.Response, *, body: Any, operation: str, irn: str = ""
) -> FirsError | None:
    """The error an HTTP reply (with its parsed JSON ``body``) stands for; None for a success."""
    status = response.status_code
    # Some gateways answer 200 with an error envelope; trust the envelope's code then.
    if status < 400 and isinstance(body, dict) and isinstance(body.get("code"), int):
        status = max(status, body["code"])
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status < 400:
        if body is None:
            return _error(
                FirsTransientError,
                f"FIRS {operation}: answered {status} without a JSON body",
                operation=operation,
                status=status,
            )
        return None

    reply = error_reply(body)
    text = reply.text or f"HTTP {status}"
    if status == 429:
        cls = FirsRateLimited
    elif status >= 500:
        cls = FirsTransientError
    elif _names_duplicate(status, reply):
        cls = DuplicateIrn
    elif status in (401, 403) or AUTH_FAILURE_PHRASE in _all_text(reply):
        cls = FirsAuthenticationError
    elif _says_busy(reply):
        cls = FirsTransientError
    elif status == 404 or "not found" in reply.details.lower():
        cls = FirsNotFound
    else:
        cls = FirsPermanentError
    message = f"FIRS {operation} failed ({status}): {text}"
    if cls is DuplicateIrn:  # FIRS's own wording may read like a busy answer
        message = f"FIRS {operation}: IRN {irn} is already registered at FIRS ({status}: {text})"
    error = _error(
        cls,
        message,
        operation=operation,
        status=status,
        retry_after=retry_after,
        reply=reply,
        envelope=body if isinstance(body, dict) else None,
    )
    if isinstance(error, DuplicateIrn):
        error.irn = irn
    return error


def _json_body(response: requests.Response) -> Any:
    """The parsed JSON body; None when there is none (gateways answer in HTML or plain text)."""
    try:
        return response.json()
    except ValueError:
        return None


def error_reply(body: Any) -> ErrorReply:
    if not isinstance(body, dict):
        return ErrorReply()
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    field_errors = tuple(
        (str(item.get("field", "")), str(item.get("message", "")))
        for item in error.get("errors") or ()
        if isinstance(item, dict)
    )
    return ErrorReply(
        message=str(body.get("message") or ""),
        details=str(error.get("details") or ""),
        public_message=str(error.get("public_message") or ""),
        error_id=str(error.get("id") or ""),
        field_errors=field_errors,
    )


def _names_duplicate(status: int, reply: ErrorReply) -> bool:
    """FIRS documents no answer for a duplicate IRN: accept the shapes reported so far.

    Not the public_message: every validation error says "confirm this is not a duplicate request".
    """
    if status == 409:
        return True
    for field, message in reply.field_errors:
        if "irn" in field.lower() and _mentions_duplicate(message):
            return True
    return _mentions_duplicate(reply.details) or _mentions_duplicate(reply.message)


def _mentions_duplicate(text: str) -> bool:
    text = text.lower()
    return "duplicate" in text or "already exist" in text


def _says_busy(reply: ErrorReply) -> bool:
    texts = [reply.details, reply.message]
    if not reply.public_message.lower().startswith(VALIDATION_BOILERPLATE):
        texts.append(reply.public_message)
    return any(phrase in text.lower() for text in texts for phrase in BUSY_PHRASES)


def _all_text(reply: ErrorReply) -> str:
    return " ".join((reply.message, reply.details, reply.public_message)).lower()


def _signals_outage(error: FirsError | None) -> bool:
    """What trips the breaker: FIRS failing, not FIRS answering (4xx, 429 with its own wait)."""
    return isinstance(error, FirsTransientError) and not isinstance(error, FirsRateLimited)


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _error(
    cls: type[FirsError],
    message: str,
    *,
    operation: str,
    status: int | None,
    retry_after: float | None = None,
    reply: ErrorReply | None = None,
    envelope: dict | None = None,
) -> FirsError:
    error = cls(message, status=status)
    error.operation = operation
    if retry_after is not None and isinstance(error, FirsTransientError):
        error.retry_after = retry_after
    if reply is not None:
        error.details = reply.details
        error.public_message = reply.public_message
        error.error_id = reply.error_id
    error.envelope = envelope
    return error


def _log_failure(error: FirsError, *, path: str, started: float) -> None:
    # The message, not the exception: a kept log record must not keep its traceback (and the
    # connection pool the frames hold) alive.
    logger.warning(
        "FIRS %s %s failed in %.0f ms: %s: %s",
        error.operation,
        path,
        (time.monotonic() - started) * 1000,
        type(error).__name__,
        str(error),
    )


def _segment(value: str) -> str:
    """An IRN as one URL path segment."""
    return quote(str(value), safe="")


def _json_number(value: Any) -> float:
    """Money as JSON numbers, as the invoice schema types it: Decimals are sent as numbers,
    never as strings."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
