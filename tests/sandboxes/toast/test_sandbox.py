"""The Toast sandbox's own conventions: the machine client's login and its hourly limit, the
restaurant header, rate-limit headers, orders priced and read back, ordersBulk by modified
window with Link paging, and the refund, void and combine controls."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from sandboxes.toast import api as toast_api
from sandboxes.toast.api import sandbox_restaurant_create
from sandboxes.toast.server import toast_time

pytestmark = pytest.mark.django_db
BASE = "/sandbox/toast"


@pytest.fixture
def restaurant():
    return sandbox_restaurant_create()


def login(client, restaurant, *, secret=None):
    return client.post(
        f"{BASE}/authentication/v1/authentication/login",
        data={
            "clientId": restaurant.client_id,
            "clientSecret": secret if secret is not None else restaurant.client_secret,
            "userAccessType": "TOAST_MACHINE_CLIENT",
        },
        content_type="application/json",
    )


@pytest.fixture
def headers(client, restaurant):
    token = login(client, restaurant).json()["token"]["accessToken"]
    return {
        "Authorization": f"Bearer {token}",
        "Toast-Restaurant-External-ID": restaurant.restaurant_guid,
    }


def post_order(client, headers, *checks):
    return client.post(
        f"{BASE}/orders/v2/orders",
        data={"checks": list(checks)},
        content_type="application/json",
        headers=headers,
    )


CHECK = {
    "selections": [{"displayName": "Jollof Rice", "price": 2500, "quantity": 2}],
    "payments": [{"type": "CREDIT", "tipAmount": 500}],
}


def test_a_login_answers_a_day_long_token_and_the_third_in_an_hour_is_refused(client, restaurant):
    first = login(client, restaurant)

    assert first.status_code == 200
    assert first.json()["token"]["expiresIn"] == 86400
    assert "X-Toast-RateLimit-Remaining" not in first.headers  # the auth API has none
    assert login(client, restaurant, secret="wrong").status_code == 401
    assert login(client, restaurant).status_code == 200
    refused = login(client, restaurant)
    assert refused.status_code == 429 and refused.json()["code"] == 10029


def test_the_restaurant_header_is_required_and_must_be_the_clients(client, restaurant, headers):
    without = {"Authorization": headers["Authorization"]}
    other = {**headers, "Toast-Restaurant-External-ID": "someone-else"}

    assert post_order(client, without, CHECK).status_code == 400
    assert post_order(client, other, CHECK).status_code == 403
    assert post_order(client, {}, CHECK).status_code == 401


def test_an_order_is_priced_as_toast_prices_it_and_read_back(client, headers):
    answer = post_order(client, headers, CHECK)

    assert answer.status_code == 200
    order = answer.json()
    (check,) = order["checks"]
    assert (check["amount"], check["taxAmount"], check["totalAmount"]) == (5000.0, 375.0, 5375.0)
    assert check["paymentStatus"] == "CLOSED" and check["payments"][0]["tipAmount"] == 500.0
    assert int(answer.headers["X-Toast-RateLimit-Reset"]) >= int(time.time())
    assert int(answer.headers["X-Toast-RateLimit-Remaining"]) < toast_api.REQUESTS_PER_SECOND
    read = client.get(f"{BASE}/orders/v2/orders/{order['guid']}", headers=headers)
    assert read.json() == order


def test_a_spent_second_is_answered_429_with_retry_after(client, headers, monkeypatch):
    monkeypatch.setattr(toast_api, "REQUESTS_PER_SECOND", 1)
    answers = [post_order(client, headers, CHECK) for _ in range(4)]

    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused and refused[0].headers["Retry-After"] == "1"
    assert refused[0].headers["X-Toast-RateLimit-Remaining"] == "0"


def test_orders_bulk_pages_by_modified_window_with_link_headers(client, headers):
    for _ in range(5):
        post_order(client, headers, CHECK)
    now = timezone.now()
    window = {
        "startDate": toast_time(now - timedelta(minutes=5)),
        "endDate": toast_time(now + timedelta(minutes=1)),
        "pageSize": "2",
    }
    seen, page = [], 1
    while True:
        answer = client.get(
            f"{BASE}/orders/v2/ordersBulk", {**window, "page": page}, headers=headers
        )
        assert answer.status_code == 200
        seen += [order["guid"] for order in answer.json()]
        if 'rel="next"' not in answer.headers["Link"]:
            break
        page += 1

    assert len(seen) == len(set(seen)) == 5 and page == 3
    too_long = {**window, "startDate": toast_time(now - timedelta(days=40))}
    assert client.get(f"{BASE}/orders/v2/ordersBulk", too_long, headers=headers).status_code == 400


def test_refund_void_and_combine_change_the_order_and_its_modified_date(client, headers):
    first = post_order(client, headers, CHECK).json()
    second = post_order(client, headers, CHECK).json()
    check = first["checks"][0]

    refund = client.post(
        f"{BASE}/_sandbox/orders/{first['guid']}/refund",
        data={"checkGuid": check["guid"], "amount": 1000},
        content_type="application/json",
        headers=headers,
    ).json()
    refunded = client.get(f"{BASE}/orders/v2/orders/{first['guid']}", headers=headers).json()
    combined = client.post(
        f"{BASE}/_sandbox/orders/{first['guid']}/combine",
        data={"intoOrderGuid": second["guid"]},
        content_type="application/json",
        headers=headers,
    ).json()

    assert refund["refundAmount"] == 1000.0
    payment = refunded["checks"][0]["payments"][0]
    assert payment["refundStatus"] == "PARTIAL" and refunded["modifiedDate"] > first["modifiedDate"]
    assert refunded["checks"][0]["totalAmount"] == check["totalAmount"]  # not affected by refunds
    assert len(combined["checks"]) == 2
    deleted = client.get(f"{BASE}/orders/v2/orders/{first['guid']}", headers=headers).json()
    assert deleted["deleted"] is True
