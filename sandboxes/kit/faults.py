"""One fault schema and store for every sandbox (``SandboxFaults``): latency, 5xx, 429 with
Retry-After, the platform's own transient refusal, and replies dropped after the work is done,
per account or for every account; switched from the admin, from code, or at each sandbox's
``_sandbox/faults`` path. A sandbox supplies only its answers' shapes."""

import secrets
import socket
import time
from collections.abc import Callable, Mapping

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import HttpResponse
from django.utils.http import http_date

from sandboxes.kit.models import SandboxFaults
from sandboxes.kit.shared_cache import cache_get, cache_set

FAULT_FIELDS = tuple(
    field.name
    for field in SandboxFaults._meta.fields
    if field.name not in ("id", "sandbox", "account", "updated_at")
)
# Read on every request, so cached; a change made elsewhere reaches every process this soon.
CACHE_SECONDS = 2
# The operations each sandbox names its endpoints by, for ``only_operations``.
_operations: dict[str, frozenset[str]] = {}

_random = secrets.SystemRandom()


def cache_key(*, sandbox: str, account: str = "") -> str:
    return f"sandbox-faults:{sandbox}:{account}"


def operations_register(*, sandbox: str, operations: frozenset[str]) -> None:
    _operations[sandbox] = frozenset(operations)


def operations_known(*, sandbox: str) -> frozenset[str]:
    return _operations.get(sandbox, frozenset())


def faults_get(*, sandbox: str, account: str = "") -> SandboxFaults:
    """The account's own switches, else every account's, else all off."""
    key = cache_key(sandbox=sandbox, account=account)
    faults = cache_get(key)
    if faults is None:
        rows = {
            row.account: row
            for row in SandboxFaults.objects.filter(sandbox=sandbox, account__in={account, ""})
        }
        faults = rows.get(account) or rows.get("") or SandboxFaults(sandbox=sandbox)
        cache_set(key, faults, CACHE_SECONDS)
    return faults


def faults_set(*, sandbox: str, account: str = "", changes: Mapping) -> SandboxFaults:
    """Switch some faults of the account (every account: ``account`` empty), e.g.
    ``{"server_error_rate": 1}``; the others stay as they are. ValidationError on an unknown
    name or a bad value, and nothing changes."""
    unknown = set(changes) - set(FAULT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fault settings: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        faults = (
            SandboxFaults.objects.select_for_update()
            .filter(sandbox=sandbox, account=account)
            .first()
        ) or SandboxFaults(sandbox=sandbox, account=account)
        for name, value in changes.items():
            _type_check(name, value)
            setattr(faults, name, value)
        faults.full_clean(validate_unique=False)
        known = operations_known(sandbox=sandbox)
        named = faults.operations() - known
        if named:
            raise ValidationError(f"Unknown operations: {', '.join(sorted(named))}")
        faults.save()
    _forget(sandbox=sandbox, account=account)
    return faults


def faults_reset(*, sandbox: str, account: str = "") -> None:
    SandboxFaults.objects.filter(sandbox=sandbox, account=account).delete()
    _forget(sandbox=sandbox, account=account)


def faults_dict(faults: SandboxFaults) -> dict:
    return model_to_dict(faults, fields=FAULT_FIELDS)


def happens(rate: float) -> bool:
    return rate > 0 and _random.random() < rate


def latency_wait(faults: SandboxFaults) -> None:
    delay_ms = faults.latency_ms + _random.uniform(
        -faults.latency_jitter_ms, faults.latency_jitter_ms
    )
    if delay_ms > 0:
        time.sleep(delay_ms / 1000)  # sleeping, not spinning: latency costs no CPU


def retry_after(faults: SandboxFaults) -> str:
    if faults.retry_after_as_http_date:
        return http_date(time.time() + faults.retry_after_seconds)
    return str(faults.retry_after_seconds)


def refusal(
    faults: SandboxFaults,
    *,
    operation: str = "",
    rate_limited: Callable[[SandboxFaults], HttpResponse],
    server_error: Callable[[SandboxFaults], HttpResponse],
    platform_error: Callable[[SandboxFaults], HttpResponse] | None = None,
) -> HttpResponse | None:
    """Latency, then the faults that refuse a request before any work is done, answered in
    the platform's shapes; None when the request goes on."""
    if operation and not faults.applies_to(operation):
        return None
    latency_wait(faults)
    if happens(faults.rate_limit_rate):
        return rate_limited(faults)
    if happens(faults.server_error_rate):
        return server_error(faults)
    if platform_error is not None and happens(faults.platform_error_rate):
        return platform_error(faults)
    return None


def reply_lost(request, faults: SandboxFaults) -> HttpResponse:
    """The work is committed; the client never gets the answer."""
    sock = _client_socket(request)
    if faults.dropped_reply_as == SandboxFaults.DroppedReply.CLOSE and sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
        return HttpResponse(status=204)  # written to a closed socket: never delivered
    return HttpResponse("upstream request timeout", status=504, content_type="text/plain")


def _type_check(name: str, value) -> None:
    """JSON's types as the fields want them: no true for a rate, no "2" for a number."""
    kind = SandboxFaults._meta.get_field(name).get_internal_type()
    if kind == "BooleanField":
        wanted, ok = "true or false", isinstance(value, bool)
    elif kind == "CharField":
        wanted, ok = "a string", isinstance(value, str)
    elif kind == "FloatField":
        wanted, ok = "a number", isinstance(value, int | float) and not isinstance(value, bool)
    else:
        wanted, ok = "a whole number", isinstance(value, int) and not isinstance(value, bool)
    if not ok:
        raise ValidationError(f"{name} must be {wanted}")


def _forget(*, sandbox: str, account: str) -> None:
    cache.delete(cache_key(sandbox=sandbox, account=account))


def _client_socket(request) -> socket.socket | None:
    """The request's TCP socket under gunicorn or Django's runserver / live server, else None."""
    sock = request.META.get("gunicorn.socket")
    if sock is None:
        # Django's server reads the body through a LimitedStream over socket.makefile().
        reader = getattr(getattr(request.META.get("wsgi.input"), "_read", None), "__self__", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
