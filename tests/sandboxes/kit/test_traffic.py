"""The kit's traffic sender, with a platform of its own: the options mean the same for every
platform, and the sender outlives database errors and a receiver that cannot take deliveries."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import OperationalError

from sandboxes.kit.traffic import (
    BACKOFF_FIRST_SECONDS,
    Event,
    Receiver,
    TrafficPlatform,
    deliveries_prepare,
    traffic_run,
)


class Counting(TrafficPlatform):
    """Each change is ``events_per_change`` numbered events; ``failures`` are what
    ``change_make`` raises first, one per call (None: that call works)."""

    key = "counting"

    def __init__(self, *, events_per_change=2, events_per_delivery=1, failures=()):
        self.events_per_change = events_per_change
        self.events_per_delivery = events_per_delivery
        self.failures = list(failures)
        self.made = 0

    @classmethod
    def add_arguments(cls, parser):
        pass

    @classmethod
    def from_options(cls, *, account_id, signing_key, options):
        return cls()

    def change_make(self, *, rng):
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
        self.made += 1
        return [Event(payload={"id": f"{self.made}.{n}"}) for n in range(self.events_per_change)]

    def event_retried(self, event):
        return event

    def body(self, events):
        return json.dumps([event.payload for event in events]).encode()

    def headers(self, *, body, events, receiver):
        return {"X-Attempts": ",".join(str(event.attempt) for event in events)}

    def counts(self):
        return {"made": self.made}


class Inbox(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.bodies.append(json.loads(body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def inbox():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    server.bodies, server.status, server.lock = [], 204, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, Receiver(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    server.shutdown()
    server.server_close()


def ids(server) -> list[str]:
    return [event["id"] for body in server.bodies for event in body]


def test_each_event_goes_out_one_to_n_times(inbox):
    server, receiver = inbox

    summary = traffic_run(Counting(), receiver=receiver, count=40, duplicates=3, seed=1)

    sent = Counter(ids(server))
    assert len(sent) == summary.events == 80
    assert set(sent.values()) == {1, 2, 3}
    assert summary.deliveries_sent == sum(sent.values()) == len(server.bodies)
    assert summary.made == {"made": 40}


def test_without_a_window_events_keep_their_order_and_within_one_they_mix(inbox):
    server, receiver = inbox
    traffic_run(Counting(), receiver=receiver, count=10, seed=2)
    in_order = ids(server)
    server.bodies.clear()

    traffic_run(Counting(), receiver=receiver, count=10, shuffle_window=5, seed=2)

    assert in_order == [f"{change}.{n}" for change in range(1, 11) for n in range(2)]
    assert sorted(ids(server)) == sorted(in_order) and ids(server) != in_order


def test_events_are_batched_as_the_platform_batches_them(inbox):
    server, receiver = inbox

    traffic_run(Counting(events_per_delivery=3), receiver=receiver, count=4, concurrency=3)

    assert sorted(len(body) for body in server.bodies) == [2, 3, 3]


def test_no_time_to_run_makes_nothing(inbox):
    server, receiver = inbox

    summary = traffic_run(Counting(), receiver=receiver, count=None, duration=0)

    assert (summary.changes, server.bodies) == (0, [])


def test_a_database_error_while_making_a_change_is_survived_with_a_back_off(inbox):
    server, receiver = inbox
    lost = OperationalError("server closed the connection unexpectedly")
    waits = []
    platform = Counting(failures=[None, lost, lost, None, lost])

    summary = traffic_run(platform, receiver=receiver, count=5, sleep=waits.append)

    # The sender kept going: every change made, every event sent, three failures waited out.
    assert summary.changes == 5 and summary.change_errors == 3
    assert len(ids(server)) == summary.events == 10
    first = BACKOFF_FIRST_SECONDS
    # Doubled while failures follow one another, back to the first wait after a success.
    assert waits == [first, first * 2, first]


def test_a_receiver_that_refuses_is_counted_and_the_sender_goes_on(inbox):
    server, receiver = inbox
    server.status = 503  # our web's answer while its broker is down

    summary = traffic_run(Counting(), receiver=receiver, count=3, concurrency=2)

    assert summary.non_2xx == summary.deliveries_sent == 6
    assert summary.statuses == {503: 6}


def test_prepared_deliveries_are_made_up_front_in_sending_order(inbox):
    _, receiver = inbox
    platform = Counting()

    deliveries, made = deliveries_prepare(platform, receiver=receiver, count=3, duplicates=2)

    assert platform.made == made.changes == 3
    assert [json.loads(d.body)[0]["id"] for d in deliveries if d.headers["X-Attempts"] == "0"] == [
        f"{change}.{n}" for change in range(1, 4) for n in range(2)
    ]


def test_changes_are_made_on_the_change_rates_schedule_and_each_delivery_is_heard(inbox):
    server, receiver = inbox
    waits, heard = [], []

    summary = traffic_run(
        Counting(),
        receiver=receiver,
        count=4,
        change_rate=1.0,
        sleep=waits.append,
        on_delivery=heard.append,
    )

    # Change n is due n seconds after the first; nothing here really waits.
    assert summary.changes == 4 and [round(wait) for wait in waits] == [1, 2, 3]
    heard_ids = [event["id"] for delivery in heard for event in json.loads(delivery.body)]
    assert sorted(heard_ids) == sorted(ids(server)) and len(heard_ids) == summary.events == 8


@pytest.mark.parametrize(
    "options",
    [
        {"count": -1},
        {"duration": -1},
        {"rate": -1},
        {"change_rate": -1},
        {"duplicates": 0},
        {"shuffle_window": 0},
    ],
)
def test_bad_options_are_refused(inbox, options):
    _, receiver = inbox
    with pytest.raises(ValueError):
        traffic_run(Counting(), receiver=receiver, **options)


def test_a_receiver_must_be_http():
    with pytest.raises(ValueError):
        Receiver(webhook_url="file:///etc/passwd")
