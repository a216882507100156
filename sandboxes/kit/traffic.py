"""One traffic sender for every sandbox: a platform's changes, delivered as its webhooks.

A platform supplies only what is its own (``TrafficPlatform``): how to make one change in its
sandbox (a sale, a deal created or moved) with the events it announces, how a retried event
differs from the first attempt, how events make one delivery's body, and how a delivery is signed.
The rest means the same for every platform:

- ``rate``: deliveries (POSTs) per second, kept to a schedule (0: as fast as they go);
- ``change_rate``: changes (sales, deals) per second, kept to a schedule (0: as the deliveries
  go out);
- ``count`` changes at most, and ``duration`` seconds of making them at most (None: no limit);
- ``concurrency``: threads POSTing, each with its own session;
- ``duplicates`` N: each event is delivered 1 to N times (platforms deliver at least once);
- ``shuffle_window`` W: each delivery goes out at a random point among the next W.

Changes are made as the deliveries go out, in the calling thread; worker threads only POST. A
database error while making a change (PostgreSQL restarting) is logged and the sender backs off
and goes on, so a demo's traffic outlives a blip; an unanswered or refused POST is counted.
"""

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import requests
from django.db import InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

# Waits after a failed change: doubled each time in a row, up to the cap.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
# What a lost database connection raises; the next attempt opens a new one.
DATABASE_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class Event:
    """One webhook event: the platform's JSON object and which attempt at delivering it this is
    (0 for the first, then 1, 2, ... for the copies)."""

    payload: dict
    attempt: int = 0


@dataclass(frozen=True)
class Receiver:
    """Where deliveries go (``webhook_url``), and the URL the platform's signature covers
    (``notification_url``: Square's subscription URL; the same unless set)."""

    webhook_url: str
    notification_url: str = ""

    def __post_init__(self):
        for url in filter(None, (self.webhook_url, self.notification_url)):
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"{url!r} is not an http(s) URL")

    @property
    def signed_url(self) -> str:
        return self.notification_url or self.webhook_url


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict
    events: tuple[Event, ...]


class TrafficPlatform(ABC):
    """A platform's part of the traffic. ``events_per_delivery``: events in one POST;
    ``delivery_timeout_seconds``: how long the platform waits for a receiver's answer."""

    key: str
    events_per_delivery: int = 1
    delivery_timeout_seconds: float = 10.0

    @classmethod
    @abstractmethod
    def add_arguments(cls, parser) -> None:
        """The platform's own options of ``manage.py sandbox_traffic`` (an argument group)."""

    @classmethod
    @abstractmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        """The traffic of the sandbox account ``account_id``; ValueError when there is none."""

    @classmethod
    def history_write(
        cls, *, account_id: str, count: int, days: int, seed: int | None, options: dict
    ) -> int:
        """Write ``count`` changes of the past ``days`` straight into the sandbox account, with
        no webhooks (for back-fills)."""
        raise ValueError(f"The {cls.key} sandbox keeps no history to write")

    @abstractmethod
    def change_make(self, *, rng: random.Random) -> list[Event]:
        """Make one change in the sandbox now; the events the platform sends about it, in its
        order."""

    @abstractmethod
    def event_retried(self, event: Event) -> Event:
        """The copy of ``event`` a platform's retry delivers (its ``attempt`` already set)."""

    @abstractmethod
    def body(self, events: tuple[Event, ...]) -> bytes:
        """One delivery's body."""

    @abstractmethod
    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        """One delivery's headers, signed as the platform signs them."""

    def counts(self) -> dict:
        """What the platform made so far (sales, refunds, deals), for the summary."""
        return {}


@dataclass
class TrafficSummary:
    """What a run did. ``deliveries_sent`` counts every POST (copies included); those answered
    outside 2xx are ``non_2xx``, those never answered (connection error, timeout)
    ``transport_errors``. ``ack_latencies`` are the seconds each answered POST took;
    ``change_errors`` the changes that failed on the database and were tried again."""

    changes: int = 0
    events: int = 0
    deliveries_sent: int = 0
    non_2xx: int = 0
    transport_errors: int = 0
    change_errors: int = 0
    statuses: Counter = field(default_factory=Counter)
    ack_latencies: list[float] = field(default_factory=list)
    made: dict = field(default_factory=dict)


def options_check(
    *, count, duration, rate: float, duplicates: int, shuffle_window: int, concurrency: int
) -> None:
    if count is not None and count < 0:
        raise ValueError("count must be 0 or more")
    if duration is not None and duration < 0:
        raise ValueError("duration must be 0 or more seconds")
    if rate < 0 or duplicates < 1 or shuffle_window < 1 or concurrency < 1:
        raise ValueError("rate >= 0, duplicates >= 1, shuffle_window >= 1, concurrency >= 1")


def traffic_run(
    platform: TrafficPlatform,
    *,
    receiver: Receiver,
    count: int | None = 10,
    duration: float | None = None,
    rate: float = 0.0,
    change_rate: float = 0.0,
    duplicates: int = 1,
    shuffle_window: int = 1,
    concurrency: int = 1,
    timeout: float | None = None,
    seed: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> TrafficSummary:
    """Make up to ``count`` changes for up to ``duration`` seconds and deliver their events to
    ``receiver``, as the module describes. ``timeout`` defaults to the platform's; ``seed``
    makes the changes and their order repeatable; ``sleep`` is how the sender waits (pacing and
    back-off); ``on_delivery`` hears each delivery before it is sent."""
    options_check(
        count=count,
        duration=duration,
        rate=rate,
        duplicates=duplicates,
        shuffle_window=shuffle_window,
        concurrency=concurrency,
    )
    if change_rate < 0:
        raise ValueError("change_rate must be 0 or more")
    rng = random.Random(seed)  # noqa: S311 (made-up traffic, repeatable by seed)
    summary = TrafficSummary()
    changes = _changes(
        platform,
        rng=rng,
        count=count,
        duration=duration,
        summary=summary,
        sleep=sleep,
        change_rate=change_rate,
    )
    deliveries = _deliveries(
        platform,
        changes,
        receiver=receiver,
        duplicates=duplicates,
        shuffle_window=shuffle_window,
        rng=rng,
    )
    if on_delivery is not None:
        deliveries = _heard(deliveries, on_delivery)
    _send(
        deliveries,
        receiver=receiver,
        rate=rate,
        concurrency=concurrency,
        timeout=timeout or platform.delivery_timeout_seconds,
        summary=summary,
        sleep=sleep,
    )
    summary.made = platform.counts()
    return summary


def deliveries_prepare(
    platform: TrafficPlatform,
    *,
    receiver: Receiver,
    count: int,
    duplicates: int = 1,
    shuffle_window: int = 1,
    seed: int | None = None,
) -> tuple[list[Delivery], TrafficSummary]:
    """Make ``count`` changes now and return their deliveries in sending order, unsent, with
    the summary of what was made: a paced run (a benchmark) then spends its time sending."""
    options_check(
        count=count,
        duration=None,
        rate=0,
        duplicates=duplicates,
        shuffle_window=shuffle_window,
        concurrency=1,
    )
    rng = random.Random(seed)  # noqa: S311 (made-up traffic, repeatable by seed)
    summary = TrafficSummary()
    changes = list(
        _changes(platform, rng=rng, count=count, duration=None, summary=summary, sleep=time.sleep)
    )
    deliveries = list(
        _deliveries(
            platform,
            changes,
            receiver=receiver,
            duplicates=duplicates,
            shuffle_window=shuffle_window,
            rng=rng,
        )
    )
    summary.made = platform.counts()
    return deliveries, summary


def deliveries_send(
    deliveries: Iterable[Delivery],
    *,
    receiver: Receiver,
    rate: float = 0.0,
    concurrency: int = 1,
    timeout: float = 10.0,
    summary: TrafficSummary | None = None,
    on_answer: Callable[[int, float], None] | None = None,
) -> TrafficSummary:
    """Send deliveries made by ``deliveries_prepare`` at ``rate`` per second. ``on_answer``
    hears (status, seconds) of each answered POST, from the sending thread."""
    summary = summary or TrafficSummary()
    _send(
        deliveries,
        receiver=receiver,
        rate=rate,
        concurrency=concurrency,
        timeout=timeout,
        summary=summary,
        sleep=time.sleep,
        on_answer=on_answer,
    )
    return summary


# --- making --------------------------------------------------------------------------------


def _changes(
    platform: TrafficPlatform,
    *,
    rng: random.Random,
    count: int | None,
    duration: float | None,
    summary: TrafficSummary,
    sleep: Callable[[float], None],
    change_rate: float = 0.0,
) -> Iterator[Event]:
    """The events of one change after another, until ``count`` or ``duration``, change n made
    at ``n / change_rate`` seconds when that is set; a change that fails on the database is
    tried again after a back-off."""
    began = time.monotonic()
    deadline = None if duration is None else began + duration
    backoff = BACKOFF_FIRST_SECONDS
    while count is None or summary.changes < count:
        if change_rate:
            delay = began + summary.changes / change_rate - time.monotonic()
            if delay > 0:
                sleep(delay)
        if deadline is not None and time.monotonic() >= deadline:
            return
        try:
            events = platform.change_make(rng=rng)
        except DATABASE_ERRORS as error:
            summary.change_errors += 1
            logger.warning(
                "%s traffic: making a change failed (%s); again in %.1f s",
                platform.key,
                type(error).__name__,
                backoff,
            )
            # The broken connection goes; the next attempt opens a fresh one.
            connections.close_all()
            sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
            continue
        backoff = BACKOFF_FIRST_SECONDS
        summary.changes += 1
        summary.events += len(events)
        yield from events


def _deliveries(
    platform: TrafficPlatform,
    events: Iterable[Event],
    *,
    receiver: Receiver,
    duplicates: int,
    shuffle_window: int,
    rng: random.Random,
) -> Iterator[Delivery]:
    batch: list[Event] = []
    for event in _shuffled(
        _repeated(platform, events, duplicates=duplicates, rng=rng), window=shuffle_window, rng=rng
    ):
        batch.append(event)
        if len(batch) == platform.events_per_delivery:
            yield _delivery(platform, tuple(batch), receiver=receiver)
            batch = []
    if batch:
        yield _delivery(platform, tuple(batch), receiver=receiver)


def _heard(deliveries: Iterable[Delivery], hear: Callable[[Delivery], None]):
    for delivery in deliveries:
        hear(delivery)
        yield delivery


def _delivery(platform: TrafficPlatform, events: tuple[Event, ...], *, receiver) -> Delivery:
    body = platform.body(events)
    headers = platform.headers(body=body, events=events, receiver=receiver)
    return Delivery(body=body, headers=headers, events=events)


def _repeated(
    platform: TrafficPlatform, events: Iterable[Event], *, duplicates: int, rng: random.Random
) -> Iterator[Event]:
    for event in events:
        yield event
        for attempt in range(1, rng.randint(1, duplicates)):
            yield platform.event_retried(replace(event, attempt=attempt))


def _shuffled(events: Iterable[Event], *, window: int, rng: random.Random) -> Iterator[Event]:
    """The events, each sent at a random point among the next ``window``."""
    pending: deque[Event] = deque()
    for event in events:
        pending.append(event)
        if len(pending) == window:
            pending.rotate(-rng.randrange(window))
            yield pending.popleft()
    remaining = list(pending)
    rng.shuffle(remaining)
    yield from remaining


# --- sending -------------------------------------------------------------------------------


def _send(
    deliveries: Iterable[Delivery],
    *,
    receiver: Receiver,
    rate: float,
    concurrency: int,
    timeout: float,
    summary: TrafficSummary,
    sleep: Callable[[float], None],
    on_answer: Callable[[int, float], None] | None = None,
) -> None:
    """POST each delivery from a pool of ``concurrency`` threads, starting delivery n at
    ``n / rate`` seconds (monotonic clock)."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()
    # A bounded backlog: changes are made only as fast as deliveries go out.
    backlog = threading.BoundedSemaphore(concurrency * 2)
    failures: list[BaseException] = []

    def post(delivery: Delivery) -> None:
        try:
            answered = _post(delivery)
        finally:
            backlog.release()
        with lock:
            summary.deliveries_sent += 1
            if answered is None:
                summary.transport_errors += 1
                summary.statuses[0] += 1
                return
            status, elapsed = answered
            summary.statuses[status] += 1
            summary.ack_latencies.append(elapsed)
            if not 200 <= status < 300:
                summary.non_2xx += 1
        if on_answer is not None:
            on_answer(status, elapsed)

    def _post(delivery: Delivery) -> tuple[int, float] | None:
        """(status, seconds) of the answer, or None when there was none."""
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            with lock:
                sessions.append(session)
        started = time.monotonic()
        try:
            response = session.post(
                receiver.webhook_url, data=delivery.body, headers=delivery.headers, timeout=timeout
            )
        except requests.RequestException:
            return None
        return response.status_code, time.monotonic() - started

    def failed(future) -> None:
        if future.exception() is not None:
            failures.append(future.exception())

    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            began = time.monotonic()
            for index, delivery in enumerate(deliveries):
                if rate:
                    delay = began + index / rate - time.monotonic()
                    if delay > 0:
                        sleep(delay)
                backlog.acquire()
                pool.submit(post, delivery).add_done_callback(failed)
    finally:
        for session in sessions:
            session.close()
    if failures:
        raise failures[0]
