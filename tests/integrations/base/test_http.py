"""The HTTP client every platform client is built on: error mapping, Retry-After, the pause
shared through the cache by every client of one (platform, account), and timeouts."""

import time
import uuid
from email.utils import formatdate

import pytest
import requests
import responses
from django.core.cache import cache

from integrations.base import http
from integrations.base.errors import (
    AuthenticationError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)
from integrations.base.http import DEFAULT_TIMEOUT, PlatformClient, RateLimit
from integrations.pos.square.client import SquareClient
from taxpoynt.lib.http import retry_after_seconds

BASE = "https://api.example.test"


class ExampleClient(PlatformClient):
    platform = "Example"
    rate_limits = (
        RateLimit(
            remaining_header="X-Example-Remaining",
            window_seconds=10.0,
            window_header="X-Example-Window-Ms",
            window_header_seconds=0.001,
        ),
        RateLimit(remaining_header="X-Example-Secondly-Remaining", window_seconds=1.0),
    )


class NoLimitsClient(PlatformClient):
    platform = "NoLimits"


@pytest.fixture
def account():
    # The cache outlives a test: every test pauses an account of its own.
    return f"acct-{uuid.uuid4()}"


def client(account, cls=ExampleClient, **kwargs):
    return cls(base_url=BASE, account=account, access_token="token-1", **kwargs)


def answer(status=200, *, json=None, headers=None, body=None):
    if body is not None:
        responses.get(f"{BASE}/thing", body=body, status=status, headers=headers)
    else:
        responses.get(
            f"{BASE}/thing", json={} if json is None else json, status=status, headers=headers
        )


# --- errors ------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("status", "error", "permanent"),
    [
        (500, TransientConnectorError, False),
        (502, TransientConnectorError, False),
        (503, TransientConnectorError, False),
        (408, TransientConnectorError, False),
        (429, RateLimited, False),
        (400, PermanentConnectorError, True),
        (404, PermanentConnectorError, True),
        (422, PermanentConnectorError, True),
        (401, AuthenticationError, True),
        (403, AuthenticationError, True),
    ],
)
def test_answers_map_to_transient_or_permanent_errors(account, status, error, permanent):
    answer(status, json={"message": "what the platform said"})

    with pytest.raises(
        error, match=f"NoLimits answered {status}: what the platform said"
    ) as caught:
        client(account, NoLimitsClient).call("GET", "/thing")

    assert caught.value.permanent is permanent
    assert caught.value.status == status


@responses.activate
@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_only_401_and_403_say_the_credentials_were_refused(account, status):
    answer(status)
    with pytest.raises(Exception) as caught:
        client(account, NoLimitsClient).call("GET", "/thing")
    assert not isinstance(caught.value, AuthenticationError)


@responses.activate
@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (requests.ReadTimeout(), "did not answer in time"),
        (requests.ConnectTimeout(), "did not answer in time"),
        (requests.ConnectionError(), "could not be reached"),
    ],
)
def test_no_answer_is_transient(account, failure, message):
    responses.get(f"{BASE}/thing", body=failure)
    with pytest.raises(TransientConnectorError, match=message) as caught:
        client(account).call("GET", "/thing")
    assert not caught.value.permanent


@responses.activate
def test_an_answer_that_is_not_a_json_object_is_an_error(account):
    answer(body="<html>busy</html>")
    with pytest.raises(TransientConnectorError, match="not JSON"):
        client(account).call("GET", "/thing")

    responses.replace(responses.GET, f"{BASE}/thing", json=[1, 2])
    with pytest.raises(PermanentConnectorError, match="not an object"):
        client(account).call("GET", "/thing")


@responses.activate
def test_calls_carry_the_timeouts_and_the_token_never_reaches_a_message(account):
    answer(400, json={"message": "bad"})
    with pytest.raises(PermanentConnectorError) as caught:
        client(account).call("GET", "/thing")

    [call] = responses.calls
    assert call.request.req_kwargs["timeout"] == DEFAULT_TIMEOUT
    assert call.request.headers["Authorization"] == "Bearer token-1"
    assert "token-1" not in str(caught.value)


# --- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120),
        ("1.5", 1.5),
        ("-3", 0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds(value, expected):
    assert retry_after_seconds(value) == expected


def test_retry_after_as_an_http_date():
    assert 43 <= retry_after_seconds(formatdate(time.time() + 45, usegmt=True)) <= 45
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0


@responses.activate
@pytest.mark.parametrize("as_http_date", [False, True])
def test_a_429_is_rate_limited_for_as_long_as_retry_after_says(account, as_http_date):
    retry_after = formatdate(time.time() + 30, usegmt=True) if as_http_date else "30"
    answer(429, headers={"Retry-After": retry_after})

    with pytest.raises(RateLimited) as caught:
        client(account, NoLimitsClient).call("GET", "/thing")

    assert 28 <= caught.value.retry_after <= 30


# --- the shared pause --------------------------------------------------------------------------


@responses.activate
def test_a_429_pauses_the_account_for_every_client_of_it_and_no_other(account):
    answer(429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited):
        client(account).call("GET", "/thing")
    responses.replace(responses.GET, f"{BASE}/thing", json={"ok": True})

    # Another client of the same account (another worker's, say) waits without calling.
    with pytest.raises(RateLimited, match="spent for") as held:
        client(account).call("GET", "/thing")
    assert 25 < held.value.retry_after <= 30
    assert held.value.status is None
    assert len(responses.calls) == 1

    # Another account of the platform, and the same account id on another platform, do not.
    assert client(f"{account}-other").call("GET", "/thing") == {"ok": True}
    assert client(account, NoLimitsClient).call("GET", "/thing") == {"ok": True}
    assert len(responses.calls) == 3


@responses.activate
def test_a_spent_budget_holds_the_next_call_back_for_its_window(account):
    answer(headers={"X-Example-Remaining": "0", "X-Example-Window-Ms": "20000"})
    assert client(account).call("GET", "/thing") == {}

    with pytest.raises(RateLimited) as held:
        client(account).call("GET", "/thing")
    assert 15 < held.value.retry_after <= 20
    assert len(responses.calls) == 1


@responses.activate
def test_a_429_without_retry_after_waits_the_longest_budget_window(account):
    answer(429, headers={"X-Example-Remaining": "0"})
    with pytest.raises(RateLimited) as caught:
        client(account).call("GET", "/thing")
    assert caught.value.retry_after == 10.0


@responses.activate
def test_a_platform_without_limit_headers_is_paused_only_by_a_stated_retry_after(account):
    answer(429)
    with pytest.raises(RateLimited) as caught:
        client(account, NoLimitsClient).call("GET", "/thing")
    assert caught.value.retry_after is None

    responses.replace(responses.GET, f"{BASE}/thing", json={"ok": True})
    assert client(account, NoLimitsClient).call("GET", "/thing") == {"ok": True}


@responses.activate
def test_a_short_pause_is_slept_through_then_the_call_goes(account, monkeypatch):
    slept = []
    monkeypatch.setattr(http.time, "sleep", slept.append)
    answer(headers={"X-Example-Secondly-Remaining": "0", "X-Example-Remaining": "50"})

    client(account).call("GET", "/thing")
    client(account).call("GET", "/thing")

    assert len(responses.calls) == 2
    [wait] = slept
    assert 0 < wait <= 1.0


@responses.activate
def test_a_budget_with_calls_left_pauses_nothing(account):
    answer(headers={"X-Example-Remaining": "3", "X-Example-Secondly-Remaining": "junk"})
    client(account).call("GET", "/thing")
    client(account).call("GET", "/thing")
    assert len(responses.calls) == 2


@responses.activate
def test_a_shorter_pause_never_cuts_a_longer_one(account):
    paused = client(account)
    paused.pause_set(30)
    paused.pause_set(1)
    with pytest.raises(RateLimited) as held:
        client(account).call("GET", "/thing")
    assert held.value.retry_after > 25


@responses.activate
def test_square_pauses_a_merchant_on_its_429(account):
    responses.get(
        "https://connect.squareup.com/v2/locations", status=429, headers={"Retry-After": "20"}
    )
    square = SquareClient(base_url="https://connect.squareup.com", account=account)
    with pytest.raises(RateLimited):
        square.locations()
    with pytest.raises(RateLimited):
        SquareClient(base_url="https://connect.squareup.com", account=account).locations()
    assert len(responses.calls) == 1
    [call] = responses.calls
    assert call.request.headers["Square-Version"]


@responses.activate
def test_without_the_cache_calls_go_and_a_429_is_still_rate_limited(account, monkeypatch):
    def cache_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    for method in ("get", "set"):
        monkeypatch.setattr(cache, method, cache_down)
    answer(429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as caught:
        client(account).call("GET", "/thing")
    assert caught.value.retry_after == 30

    responses.replace(responses.GET, f"{BASE}/thing", json={"ok": True})
    assert client(account).call("GET", "/thing") == {"ok": True}


@responses.activate
@pytest.mark.parametrize(
    "echo",
    [
        {"message": "The access token token-1-abcdefgh is revoked"},
        {"errors": [{"detail": "Bearer token-1-abcdefgh: no such grant"}]},
        {"error_description": "refresh_token refresh-xyz-1234 is spent"},
    ],
)
def test_a_platform_answer_echoing_a_credential_has_it_withheld(account, echo):
    responses.post(f"{BASE}/thing", json=echo, status=401)
    with pytest.raises(AuthenticationError) as caught:
        ExampleClient(base_url=BASE, account=account, access_token="token-1-abcdefgh").call(
            "POST", "/thing", json={"refresh_token": "refresh-xyz-1234", "name": "Rice 5kg"}
        )

    message = str(caught.value)
    assert "(withheld)" in message
    assert "token-1-abcdefgh" not in message and "refresh-xyz-1234" not in message


@responses.activate
def test_a_credential_cut_by_the_message_length_leaves_no_part_of_it(account):
    secret = "s" * 8 + "e" * 400
    responses.get(f"{BASE}/thing", body=f"bad key {secret}", status=400)
    with pytest.raises(PermanentConnectorError) as caught:
        client(account).call("GET", f"/thing?api_key={secret}")

    assert "ssssssss" not in str(caught.value)
    assert str(caught.value).endswith("bad key (withheld)")


@responses.activate
def test_what_the_request_carried_besides_credentials_stays_in_the_message(account):
    responses.get(f"{BASE}/thing", json={"message": "Rice 5kg has no code 1006.3000"}, status=422)
    with pytest.raises(PermanentConnectorError, match=r"Rice 5kg has no code 1006\.3000"):
        client(account).call("GET", "/thing?name=Rice+5kg&code=1006.3000")
