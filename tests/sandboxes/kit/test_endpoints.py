"""The kit's endpoint decorator, error envelope, rate limits, faults and URL table, through
Acme, a made-up platform written on it."""

import json

import pytest
from django.core.exceptions import ValidationError

from sandboxes.kit.endpoints import RateUsage, RateWindow, WindowUse, json_strict
from sandboxes.kit.faults import faults_set
from tests.sandboxes.kit import acme
from tests.sandboxes.kit.acme import AcmeShop

pytestmark = pytest.mark.urls("tests.sandboxes.kit.acme")


def post(client, path, body=b'{"sku": "A1"}', *, token="", **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.generic("POST", path, body, content_type="application/json", headers=headers)


def test_a_view_answers_with_its_caller_and_body_and_the_rate_headers(client, shop):
    response = post(client, "/v1/orders", token=shop.token)

    assert response.status_code == 201
    assert response.json() == {"order": {"shop": "shop-1", "sku": "A1"}}
    assert response["X-Acme-Limit"] == "1000"
    assert response["X-Acme-Remaining"] == "999"


def test_a_platform_error_is_answered_in_the_platforms_envelope(client, shop):
    response = post(client, "/v1/orders/fail", token=shop.token)

    assert response.status_code == 422
    assert response.json() == {"error": {"code": "refused", "message": "that order is refused"}}
    assert "X-Acme-Remaining" in response  # counted, so it carries the headers


def test_authenticating_after_the_limits_counts_a_refused_credential(client, acme_tables):
    response = post(client, "/v1/orders", token="nobody")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "X-Acme-Remaining" in response


def test_authenticating_first_neither_counts_nor_faults_a_refused_credential(rf, acme_tables):
    faults_set(sandbox="acme-first", changes={"server_error_rate": 1})
    request = rf.post("/", b"{}", content_type="application/json", headers={"Authorization": "x"})

    response = acme.first_order_create_view(request)

    assert response.status_code == 401
    assert "X-Acme-Remaining" not in response


def test_past_an_enforced_limit_the_answer_is_429_with_retry_after(rf, shop):
    # Authenticated first, so the caller's own limit is the one counted against.
    AcmeShop.objects.filter(pk=shop.pk).update(requests_per_window=2)

    def call():
        request = rf.post(
            "/",
            b"{}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {shop.token}"},
        )
        return acme.first_order_create_view(request)

    answers = [call() for _ in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert answers[2]["X-Acme-Remaining"] == "0"
    assert AcmeShop.objects.get(pk=shop.pk).orders_made == 2


def test_a_window_that_is_not_enforced_is_reported_never_refused():
    window = RateWindow("second", 1, enforced=False)
    usage = RateUsage(uses=(WindowUse(window=window, limit=5, used=9, ends_in=0.2),))

    assert usage.exceeded() is None
    assert usage["second"].remaining == 0
    assert usage["second"].reset_seconds == 1


def test_the_first_exceeded_window_in_declared_order_is_the_one_reported():
    day, minute = RateWindow("day", 86_400), RateWindow("minute", 60)
    usage = RateUsage(
        uses=(
            WindowUse(window=day, limit=10, used=11, ends_in=500),
            WindowUse(window=minute, limit=1, used=11, ends_in=5),
        )
    )

    assert usage.exceeded().window is day


def test_faults_apply_to_their_own_account_only(client, shop, other_shop):
    faults_set(sandbox="acme", account="shop-1", changes={"server_error_rate": 1})

    faulted = post(client, "/v1/orders", token=shop.token)
    spared = post(client, "/v1/orders", token=other_shop.token)

    assert faulted.status_code == 503
    assert faulted["Retry-After"] == "1"
    assert "X-Acme-Remaining" in faulted
    assert spared.status_code == 201
    assert AcmeShop.objects.get(pk=shop.pk).orders_made == 0


def test_a_faulted_429_sends_retry_after_as_switched(client, shop):
    faults_set(
        sandbox="acme",
        changes={"rate_limit_rate": 1, "retry_after_seconds": 9},
    )

    response = post(client, "/v1/orders", token=shop.token)

    assert response.status_code == 429
    assert response["Retry-After"] == "9"


def test_faults_can_be_limited_to_the_operations_the_endpoints_name(client, shop):
    faults_set(sandbox="acme", changes={"server_error_rate": 1, "only_operations": "fail_order"})

    assert post(client, "/v1/orders", token=shop.token).status_code == 201
    assert post(client, "/v1/orders/fail", token=shop.token).status_code == 503
    with pytest.raises(ValidationError, match="Unknown operations: nope"):
        faults_set(sandbox="acme", changes={"only_operations": "nope"})


def test_a_dropped_reply_is_lost_after_the_work_is_done(client, shop):
    faults_set(
        sandbox="acme",
        changes={"dropped_reply_rate": 1, "dropped_reply_as": "gateway_timeout"},
    )

    response = post(client, "/v1/orders", token=shop.token)

    assert response.status_code == 504
    assert AcmeShop.objects.get(pk=shop.pk).orders_made == 1


def test_a_control_endpoint_is_neither_counted_nor_faulted(rf, shop):
    faults_set(sandbox="acme", changes={"server_error_rate": 1})
    request = rf.get("/", headers={"Authorization": f"Bearer {shop.token}"})

    response = acme.control_view(request)

    assert response.status_code == 200
    assert "X-Acme-Remaining" not in response


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"amount": NaN}', b'{"amount": Infinity}', b"\xff", b"[1, 2]", b'"text"'],
)
def test_the_body_must_be_a_strict_json_object(client, shop, body):
    response = post(client, "/v1/orders", body, token=shop.token)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert AcmeShop.objects.get(pk=shop.pk).orders_made == 0


def test_an_empty_body_is_the_platforms_empty_body(client, shop):
    response = post(client, "/v1/orders", b"", token=shop.token)

    assert response.json() == {"order": {"shop": "shop-1"}}


def test_json_strict_refuses_what_json_loads_lets_through():
    assert json_strict(b'{"a": 1.5}') == {"a": 1.5}
    with pytest.raises(ValueError, match="NaN"):
        json_strict("[NaN]")


def test_other_methods_and_paths_get_the_platforms_not_found(client, shop):
    wrong_method = client.get("/v1/orders")
    wrong_path = client.get("/v9/nothing")

    assert wrong_method.status_code == wrong_path.status_code == 404
    assert wrong_method.json()["error"]["message"] == "Resource not found"
    assert wrong_path.json() == wrong_method.json()


def test_the_faults_control_reads_switches_and_resets(client, acme_tables):
    switched = client.put(
        "/_sandbox/faults", json.dumps({"latency_ms": 0, "server_error_rate": 0.5})
    )
    merged = client.post("/_sandbox/faults", {"rate_limit_rate": 0.25}, "application/json")
    read = client.get("/_sandbox/faults")
    refused = client.put("/_sandbox/faults", json.dumps({"nope": 1}))
    reset = client.delete("/_sandbox/faults")

    assert switched.json()["server_error_rate"] == 0.5
    assert merged.json()["server_error_rate"] == 0.5
    assert read.json()["rate_limit_rate"] == 0.25
    assert refused.status_code == 400
    assert "nope" in refused.json()["error"]["message"]
    assert reset.json()["server_error_rate"] == 0
    assert reset.json()["rate_limit_rate"] == 0
