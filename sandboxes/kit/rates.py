"""Rate-limit counting for every sandbox: requests counted per credential in fixed windows,
shared by every process through the cache. A sandbox turns the counts into its platform's own
headers and 429 answers."""

import hashlib
import time
from dataclasses import dataclass

from sandboxes.kit.shared_cache import counter_incr


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
    now = time.time() if now is None else now
    window = int(now // seconds)
    digest = hashlib.sha256(credential.encode()).hexdigest()[:32]
    key = f"{sandbox}-sandbox:rate:{kind}:{digest}:{window}"
    used = counter_incr(key, seconds * 2)
    return WindowCount(used=used, ends_in=(window + 1) * seconds - now)
