"""Live sales first. The realtime path notes when a sale is signed late; bulk work on ``batch``
(back-fills and the invoices they make) then waits where it is, asleep, until sales are on time
again. The batch worker already runs at the lowest CPU priority, but the database and FIRS work
it asks for does not, so it must hold back itself."""

import time

from django.conf import settings
from django.core.cache import cache

REALTIME_LATE_KEY = "priority:realtime-late"


def realtime_latency_note(*, seconds: float) -> None:
    """Record one live sale's received → signed time; a late one holds batch work back for
    BATCH_HOLD_SECONDS from now."""
    if seconds > settings.REALTIME_LATE_SECONDS:
        cache.set(REALTIME_LATE_KEY, 1, timeout=settings.BATCH_HOLD_SECONDS)


def realtime_is_late() -> bool:
    return bool(cache.get(REALTIME_LATE_KEY))


def batch_wait_for_realtime() -> float:
    """Sleep while live sales are late, BATCH_MAX_WAIT_SECONDS at most so that bulk work is
    slowed, never starved. A sleeping task holds its worker thread, so the batch worker takes
    no more work meanwhile: nothing is re-queued. Returns the seconds waited."""
    started = time.monotonic()
    deadline = started + settings.BATCH_MAX_WAIT_SECONDS
    while realtime_is_late() and time.monotonic() < deadline:
        time.sleep(settings.BATCH_WAIT_POLL_SECONDS)
    return time.monotonic() - started
