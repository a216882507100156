"""Rate-limit counting for every sandbox: requests counted per credential in fixed windows,
shared by every process through the cache. A sandbox turns the counts into its platform's own
headers and 429 answers."""

import hashlib
import time
from dataclasses import dataclass

from sandboxes.kit.shared_cache import counters_incr


@dataclass(frozen=True)
class WindowCount:
    """Requests counted in the current window (this one included), and the seconds until the
    next window starts."""

    used: int
    ends_in: float


def window_count(
    *, sandbox: str, kind: str, credential: str, seconds: int, now: float | None = None
) -> WindowCount:
    """Count one request of ``credential`` (a token, an address) in its ``seconds``-long window
    of ``kind``; the cache key holds a hash of the credential, never the credential."""
    [count] = windows_count(
        sandbox=sandbox, credential=credential, windows=((kind, seconds),), now=now
    )
    return count


def windows_count(
    *,
    sandbox: str,
    credential: str,
    windows: tuple[tuple[str, int], ...],
    now: float | None = None,
) -> list[WindowCount]:
    """``window_count`` for each ``(kind, seconds)`` window, in one round trip to the cache."""
    now = time.time() if now is None else now
    digest = hashlib.sha256(credential.encode()).hexdigest()[:32]
    starts = [int(now // seconds) for _, seconds in windows]
    used = counters_incr(
        [
            (f"{sandbox}-sandbox:rate:{kind}:{digest}:{window}", seconds * 2)
            for (kind, seconds), window in zip(windows, starts, strict=True)
        ]
    )
    return [
        WindowCount(used=count, ends_in=(window + 1) * seconds - now)
        for (_, seconds), window, count in zip(windows, starts, used, strict=True)
    ]
