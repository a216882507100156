import random
import time

import pytest

from sandboxes.kit import faults as kit_faults
from sandboxes.square.api import (
    DEFAULT_REQUESTS_PER_MINUTE,
    RATE_WINDOW_SECONDS,
    SquareError,
    sandbox_merchant_create,
    square_sandbox_faults,
    square_sandbox_faults_reset,
    square_sandbox_faults_set,
)
from tests.integrations.pos.square.support import SANDBOX, sandbox_call, sandbox_error

RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
# All off, as the kit's schema has them, with Square's budget of requests.
DEFAULTS = {
    "latency_ms": 0,
    "latency_jitter_ms": 0,
    "server_error_rate": 0.0,
    "server_error_status": 503,
    "rate_limit_rate": 0.0,
    "retry_after_seconds": 1,
    "retry_after_as_http_date": False,
    "platform_error_rate": 0.0,
    "dropped_reply_rate": 0.0,
    "dropped_reply_as": "close",
    "only_operations": "",
    "requests_per_minute": DEFAULT_REQUESTS_PER_MINUTE,
}


@pytest.fixture(autouse=True)
def faults_off(db):
    # The budget and the faults' cached copy outlive a test's database: leave none behind.
    square_sandbox_faults_reset()
    yield
    square_sandbox_faults_reset()


@pytest.fixture
def merchant(db):
    return sandbox_merchant_create()


@pytest.fixture
def locations(client, merchant):
    """GET /v2/locations as the merchant (or with another token)."""

    def call(token=merchant.access_token):
        return sandbox_call(client, "get", "/v2/locations", token=token)

    return call


def fresh_window():
    """Start in a rate window with time to spare, so a test's requests share one window."""
    into_window = time.time() % RATE_WINDOW_SECONDS
    if into_window > RATE_WINDOW_SECONDS - 5:
        time.sleep(RATE_WINDOW_SECONDS - into_window + 0.1)


def test_every_answer_carries_rate_limit_headers(client, locations):
    fresh_window()
    first, second = locations(), locations()
    refused = locations(token="not-a-token")
    oauth = client.post(f"{SANDBOX}/oauth2/token", {}, content_type="application/json")

    for response in (first, second, refused, oauth):
        assert all(name in response for name in RATE_HEADERS)
    assert first["RateLimit-Limit"] == str(DEFAULT_REQUESTS_PER_MINUTE)
    assert int(first["RateLimit-Remaining"]) - int(second["RateLimit-Remaining"]) == 1
    assert 1 <= int(second["RateLimit-Reset"]) <= 60
    assert refused.status_code == 401
    assert oauth.status_code == 400


def test_past_its_limit_a_token_is_answered_429_until_the_window_ends(locations):
    square_sandbox_faults_set(requests_per_minute=2)
    other = sandbox_merchant_create()
    fresh_window()

    answers = [locations() for _ in range(3)]
    elsewhere = locations(token=other.access_token)

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    error = sandbox_error(answers[2])
    assert (error["category"], error["code"]) == ("RATE_LIMIT_ERROR", "RATE_LIMITED")
    assert answers[2]["Retry-After"] == answers[2]["RateLimit-Reset"]
    assert answers[2]["RateLimit-Remaining"] == "0"
    assert elsewhere.status_code == 200


@pytest.mark.parametrize(
    "status, category, code, retry_after",
    [
        (503, "API_ERROR", "SERVICE_UNAVAILABLE", "7"),
        (429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "7"),
        (500, "API_ERROR", "INTERNAL_SERVER_ERROR", None),
        (504, "API_ERROR", "GATEWAY_TIMEOUT", None),
    ],
)
def test_a_switched_on_fault_answers_as_square_would(
    locations, status, category, code, retry_after
):
    if status == 429:
        square_sandbox_faults_set(rate_limit_rate=1, retry_after_seconds=7)
    else:
        square_sandbox_faults_set(
            server_error_rate=1, server_error_status=status, retry_after_seconds=7
        )

    response = locations()

    assert response.status_code == status
    error = sandbox_error(response)
    assert (error["category"], error["code"]) == (category, code)
    assert response.get("Retry-After") == retry_after
    assert all(name in response for name in RATE_HEADERS)


def test_a_fault_hits_its_share_of_requests(locations, monkeypatch):
    monkeypatch.setattr(kit_faults, "_random", random.Random(20260115))
    square_sandbox_faults_set(server_error_rate=0.25)

    statuses = [locations().status_code for _ in range(200)]

    assert set(statuses) == {200, 503}
    assert 30 <= statuses.count(503) <= 70


def test_latency_delays_every_answer(locations):
    square_sandbox_faults_set(latency_ms=150)

    started = time.monotonic()
    response = locations()

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.15


def test_faults_reach_the_oauth_endpoints_too(client, db):
    square_sandbox_faults_set(server_error_rate=1)

    response = client.post(f"{SANDBOX}/oauth2/token", {}, content_type="application/json")

    assert response.status_code == 503


def test_the_faults_endpoint_switches_reads_and_resets(client, db):
    def faults(method, body=None):
        # No token: a benchmark script switches faults without being a seller.
        url = f"{SANDBOX}/_sandbox/faults"
        if method == "get":
            return client.get(url)
        return getattr(client, method)(url, body, content_type="application/json")

    switched = faults(
        "post", {"rate_limit_rate": 1, "retry_after_seconds": 3, "requests_per_minute": 90}
    )
    # The control endpoint itself is never faulted.
    merged = faults("post", {"latency_ms": 0})
    read = faults("get")
    reset = faults("delete")

    assert switched.status_code == 200
    assert merged.json() == {
        **DEFAULTS,
        "rate_limit_rate": 1,
        "retry_after_seconds": 3,
        "requests_per_minute": 90,
    }
    assert read.json() == merged.json()
    assert reset.json() == DEFAULTS
    assert square_sandbox_faults() == DEFAULTS


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"server_error_status": 404}, ""),
        ({"server_error_rate": 1.5}, ""),
        ({"rate_limit_rate": True}, ""),
        ({"latency_ms": -1}, ""),
        ({"latency_ms": 0.5}, ""),
        ({"retry_after_seconds": "2"}, ""),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"blackout": True}, ""),
    ],
)
def test_bad_fault_settings_are_refused_and_change_nothing(client, merchant, changes, field):
    with pytest.raises(SquareError) as raised:
        square_sandbox_faults_set(**changes)
    response = sandbox_call(
        client, "post", "/_sandbox/faults", changes, token=merchant.access_token
    )

    assert raised.value.field == field
    assert response.status_code == 400
    assert sandbox_error(response).get("field", "") == field
    assert square_sandbox_faults() == DEFAULTS


def test_one_sellers_faults_leave_the_others_alone(client, merchant, locations):
    other = sandbox_merchant_create()
    switched = client.post(
        f"{SANDBOX}/_sandbox/faults?merchant_id={merchant.merchant_id}",
        {"server_error_rate": 1},
        content_type="application/json",
    )

    assert switched.json()["server_error_rate"] == 1
    assert locations().status_code == 503
    assert locations(token=other.access_token).status_code == 200
    assert square_sandbox_faults()["server_error_rate"] == 0

    client.delete(f"{SANDBOX}/_sandbox/faults?merchant_id={merchant.merchant_id}")
    assert locations().status_code == 200
