"""Toast's client: one login per credential shared by every caller until shortly before the
token expires (a cold burst logs in once), Link paging, the rate-limit headers and 429s, and
the credentials never in a log (``responses`` mocks Toast)."""

import logging
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import responses
from django.core.cache import cache
from django.db import connection as db_connection

from integrations.base.errors import AuthenticationError, RateLimited
from integrations.pos.toast.client import ToastClient, TokenCache, toast_time

BASE = "https://toast.example"
LOGIN = f"{BASE}/authentication/v1/authentication/login"
BULK = f"{BASE}/orders/v2/ordersBulk"
RESTAURANT = "b2c3d4e5-0000-4000-8000-00000000a001"


def login_answer(token="tok-1", expires_in=86400):
    return {
        "@class": ".SuccessfulResponse",
        "token": {"tokenType": "Bearer", "expiresIn": expires_in, "accessToken": token},
        "status": "SUCCESS",
    }


def client_for(secret="s3cret-value-77") -> ToastClient:
    tokens = TokenCache(base_url=BASE, client_id=f"client-{uuid.uuid4().hex}", client_secret=secret)
    return ToastClient(base_url=BASE, restaurant_guid=RESTAURANT, tokens=tokens)


@pytest.mark.django_db
@responses.activate
def test_the_token_is_reused_until_shortly_before_it_expires():
    responses.post(LOGIN, json=login_answer())
    responses.get(BULK, json=[])
    client = client_for()

    for _ in range(3):
        client.orders_bulk(
            start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 2, tzinfo=UTC)
        )

    logins = [call for call in responses.calls if call.request.url == LOGIN]
    assert len(logins) == 1
    bulk = [call for call in responses.calls if call.request.url != LOGIN]
    assert {call.request.headers["Authorization"] for call in bulk} == {"Bearer tok-1"}
    assert {call.request.headers["Toast-Restaurant-External-ID"] for call in bulk} == {RESTAURANT}


@pytest.mark.django_db
@responses.activate
def test_a_short_lived_token_is_dropped_halfway_through_its_life():
    responses.post(LOGIN, json=login_answer("tok-short", 2))
    responses.post(LOGIN, json=login_answer("tok-next"))
    responses.get(BULK, json=[])
    client = client_for()
    window = {"start": datetime(2026, 11, 1, tzinfo=UTC), "end": datetime(2026, 11, 2, tzinfo=UTC)}

    client.orders_bulk(**window)
    time.sleep(1.2)
    client.orders_bulk(**window)

    assert [
        c.request.headers.get("Authorization") for c in responses.calls if c.request.url != LOGIN
    ] == [
        "Bearer tok-short",
        "Bearer tok-next",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_callers_on_a_cold_cache_makes_one_login():
    client_id = f"burst-{uuid.uuid4().hex}"
    made = []

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:

        def slow_login(request):
            made.append(1)
            time.sleep(0.2)  # every other caller arrives while this login is under way
            return (200, {}, '{"token": {"accessToken": "tok-b", "expiresIn": 86400}}')

        mocked.add_callback("POST", LOGIN, callback=slow_login)
        tokens_seen, errors = [], []

        def caller():
            try:
                for _ in range(25):
                    tokens_seen.append(
                        TokenCache(base_url=BASE, client_id=client_id, client_secret="x").token()
                    )
            except Exception as error:
                errors.append(error)
            finally:
                db_connection.close()

        threads = [threading.Thread(target=caller) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert len(tokens_seen) == 500 and set(tokens_seen) == {"tok-b"}
    assert len(made) == 1


@pytest.mark.django_db
@responses.activate
def test_a_token_toast_ends_early_is_replaced_once():
    responses.post(LOGIN, json=login_answer("tok-old"))
    responses.post(LOGIN, json=login_answer("tok-new"))
    responses.get(BULK, status=401, json={"message": "token expired"})
    responses.get(BULK, json=[])
    client = client_for()

    client.orders_bulk(
        start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 2, tzinfo=UTC)
    )

    assert [call.request.headers.get("Authorization") for call in responses.calls][1:] == [
        "Bearer tok-old",
        None,
        "Bearer tok-new",
    ]


@pytest.mark.django_db
@responses.activate
def test_refused_credentials_are_an_authentication_error_and_never_logged(caplog):
    responses.post(LOGIN, status=401, json={"message": "Bad credentials"})
    client = client_for(secret="do-not-log-this-secret")

    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError):
        client.order("o-1")
    # The refusal stands for the other callers a while: no second login is tried.
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError):
        client.order("o-2")

    assert "do-not-log-this-secret" not in caplog.text
    assert len([call for call in responses.calls if call.request.url == LOGIN]) == 1


@pytest.mark.django_db
@responses.activate
def test_link_paging_says_whether_a_next_page_exists():
    responses.post(LOGIN, json=login_answer())
    responses.get(
        BULK,
        json=[{"guid": "o-1"}],
        headers={"Link": f'<{BULK}?page=2>; rel="next", <{BULK}?page=1>; rel="self"'},
    )
    responses.get(BULK, json=[{"guid": "o-2"}], headers={"Link": f'<{BULK}?page=1>; rel="prev"'})
    client = client_for()
    window = {"start": datetime(2026, 11, 1, tzinfo=UTC), "end": datetime(2026, 11, 2, tzinfo=UTC)}

    assert client.orders_bulk(**window, page=1) == ([{"guid": "o-1"}], True)
    assert client.orders_bulk(**window, page=2) == ([{"guid": "o-2"}], False)
    query = responses.calls[1].request.params
    assert query == {
        "startDate": "2026-11-01T00:00:00.000+0000",
        "endDate": "2026-11-02T00:00:00.000+0000",
        "page": "1",
        "pageSize": "100",
    }


@pytest.mark.django_db
@responses.activate
def test_a_spent_budget_pauses_until_its_reset_and_a_429_until_retry_after():
    responses.post(LOGIN, json=login_answer())
    reset = int(time.time()) + 30
    responses.get(
        BULK,
        json=[],
        headers={"X-Toast-RateLimit-Remaining": "0", "X-Toast-RateLimit-Reset": str(reset)},
    )
    client = client_for()
    window = {"start": datetime(2026, 11, 1, tzinfo=UTC), "end": datetime(2026, 11, 2, tzinfo=UTC)}

    client.orders_bulk(**window)
    with pytest.raises(RateLimited) as held:
        client.orders_bulk(**window)
    assert 25 < held.value.retry_after <= 30
    assert len([c for c in responses.calls if c.request.url != LOGIN]) == 1  # held back, unsent

    cache.delete(client.pause_key)
    responses.get(BULK, status=429, json={"message": "slow down"}, headers={"Retry-After": "7"})
    responses.replace(responses.GET, BULK, status=429, json={}, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as refused:
        client.orders_bulk(**window)
    assert refused.value.retry_after == 7
    cache.delete(client.pause_key)


def test_toast_times_have_milliseconds_and_a_numeric_offset():
    moment = datetime(2026, 11, 22, 18, 30, 1, 512000, tzinfo=UTC)
    assert toast_time(moment) == "2026-11-22T18:30:01.512+0000"
