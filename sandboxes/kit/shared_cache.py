"""The kit's reads and writes of the shared cache (fault switches, rate counters), on one held
Redis client per connection pool.

Django's RedisCache builds a new ``redis.Redis`` for every call, about half a millisecond of CPU
each, and its ``incr`` is two round trips after ``add``'s one; a sandbox makes several such calls
for every request it answers. The keys and values are Django's own (its key prefix and version,
its serializer), so ``django.core.cache.cache`` reads and deletes them as before. Another cache
backend goes through Django's cache API.
"""

import weakref

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _redis(backend: RedisCache):
    """The backend's held client: per backend instance (Django keeps one per thread)."""
    client = _clients.get(backend)
    if client is None:
        client = backend._cache.get_client(write=True)
        _clients[backend] = client
    return client


def cache_get(key: str, default=None):
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return backend.get(key, default)
    raw = _redis(backend).get(backend.make_key(key))
    return default if raw is None else backend._cache._serializer.loads(raw)


def cache_set(key: str, value, timeout: int) -> None:
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.set(key, value, timeout)
        return
    serialized = backend._cache._serializer.dumps(value)
    _redis(backend).set(backend.make_key(key), serialized, ex=timeout)


def counters_incr(counters: list[tuple[str, int]]) -> list[int]:
    """Count one more in each ``(key, timeout)`` (starting from 0, kept ``timeout`` seconds from
    its first count); each count, this one included."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return [_counter_incr_api(backend, key, timeout) for key, timeout in counters]
    # One round trip, in a transaction: no key can expire between its creation and its count.
    pipeline = _redis(backend).pipeline(transaction=True)
    for key, timeout in counters:
        full_key = backend.make_key(key)
        pipeline.set(full_key, 0, ex=timeout, nx=True)
        pipeline.incr(full_key)
    return pipeline.execute()[1::2]


def _counter_incr_api(backend, key: str, timeout: int) -> int:
    backend.add(key, 0, timeout)
    try:
        return backend.incr(key)
    except ValueError:  # expired between add and incr: this one starts a new count
        backend.set(key, 1, timeout)
        return 1
