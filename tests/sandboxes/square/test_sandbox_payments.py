import base64
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from integrations.pos.square.mappers import (
    refund_from_refund_object,
    refund_is_completed,
    sale_from_order,
)
from sandboxes.square.api import sandbox_merchant_create
from sandboxes.square.models import SquareSandboxOrder
from sandboxes.square.server import sandbox_refund_complete, sandbox_refund_create
from tests.integrations.pos.square.support import ngn, sandbox_call, sandbox_error

RICE = {"name": "Rice 5kg", "quantity": "2", "base_price_money": ngn(1250000)}
VAT_INCLUSIVE = {"uid": "vat", "name": "VAT", "percentage": "7.5", "type": "INCLUSIVE"}


@pytest.fixture
def merchant(db):
    return sandbox_merchant_create()


@pytest.fixture
def location_id(merchant):
    return merchant.locations.get().location_id


@pytest.fixture
def square(client, merchant):
    """square("post", "/v2/payments", {...}) as the merchant."""

    def call(method, path, body=None, *, token=merchant.access_token):
        return sandbox_call(client, method, path, body, token=token)

    return call


def open_order(square, location_id, **order) -> dict:
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "order": {
            "location_id": location_id,
            "line_items": [RICE],
            "taxes": [VAT_INCLUSIVE],
            **order,
        },
    }
    response = square("post", "/v2/orders", body)
    assert response.status_code == 200, response.json()
    return response.json()["order"]


def pay(square, *, expect=200, **request) -> dict:
    body = {"idempotency_key": str(uuid.uuid4()), "source_id": "cnon:card-nonce-ok", **request}
    response = square("post", "/v2/payments", body)
    assert response.status_code == expect, response.json()
    return response.json()


def error_of(body: dict) -> dict:
    [error] = body["errors"]
    return error


def order_of(square, order_id) -> dict:
    return square("get", f"/v2/orders/{order_id}").json()["order"]


def test_a_payment_covering_an_order_completes_it_as_pay_order_does(square, location_id):
    order = open_order(square, location_id)

    payment = pay(square, order_id=order["id"], amount_money=order["total_money"])["payment"]
    paid = order_of(square, order["id"])

    assert payment["status"] == "COMPLETED"
    assert payment["order_id"] == order["id"]
    assert payment["location_id"] == location_id
    assert payment["total_money"] == order["total_money"]
    assert payment["card_details"]["status"] == "CAPTURED"
    assert payment["receipt_url"]
    assert paid["state"] == "COMPLETED"
    assert paid["version"] == order["version"] + 1
    assert paid["closed_at"] == paid["updated_at"]
    [tender] = paid["tenders"]
    assert tender["payment_id"] == tender["id"] == payment["id"]
    assert tender["type"] == "CARD"
    assert tender["amount_money"] == payment["total_money"]
    assert paid["net_amount_due_money"] == ngn(0)
    sale = sale_from_order(paid)
    assert sale.payment_means == ("48",)
    assert sale.total == Decimal(order["total_money"]["amount"]) / 100


def test_an_order_completes_only_once_its_payments_cover_it(square, location_id):
    order = open_order(square, location_id)
    total = order["total_money"]["amount"]

    cash = pay(
        square,
        order_id=order["id"],
        source_id="CASH",
        amount_money=ngn(1000000),
        cash_details={"buyer_supplied_money": ngn(1100000)},
    )["payment"]
    after_cash = order_of(square, order["id"])
    card = pay(square, order_id=order["id"], amount_money=ngn(total - 1000000), autocomplete=False)[
        "payment"
    ]
    after_approval = order_of(square, order["id"])
    completed = square("post", f"/v2/payments/{card['id']}/complete", {}).json()["payment"]
    after_card = order_of(square, order["id"])

    assert cash["cash_details"]["change_back_money"] == ngn(100000)
    assert after_cash["state"] == after_approval["state"] == "OPEN"
    assert card["status"] == "APPROVED"
    assert card["card_details"]["status"] == "AUTHORIZED"
    assert card["delay_action"] == "CANCEL"
    assert completed["status"] == "COMPLETED"
    assert after_card["state"] == "COMPLETED"
    assert [t["payment_id"] for t in after_card["tenders"]] == [cash["id"], card["id"]]
    assert after_card["tenders"][0]["type"] == "CASH"
    assert after_card["tenders"][0]["cash_details"]["change_back_money"] == ngn(100000)


def test_a_tip_rides_on_the_payment_and_stays_off_the_sale(square, location_id):
    order = open_order(square, location_id)
    total = order["total_money"]["amount"]

    pay(square, order_id=order["id"], amount_money=order["total_money"], tip_money=ngn(50000))
    paid = order_of(square, order["id"])

    assert paid["total_tip_money"] == ngn(50000)
    assert paid["total_money"] == ngn(total + 50000)
    assert paid["net_amounts"]["tip_money"] == ngn(50000)
    assert paid["tenders"][0]["tip_money"] == ngn(50000)
    assert sale_from_order(paid).total == Decimal(total) / 100


def test_an_order_takes_no_more_than_it_has_left_to_pay(square, location_id):
    order = open_order(square, location_id)
    total = order["total_money"]

    pay(square, order_id=order["id"], amount_money=ngn(100), autocomplete=False)
    too_much = pay(square, expect=400, order_id=order["id"], amount_money=total)
    pay(square, order_id=order["id"], amount_money=ngn(total["amount"] - 100))
    # The held payment still counts: the order is paid, but not yet COMPLETED.
    assert order_of(square, order["id"])["state"] == "OPEN"

    assert error_of(too_much)["code"] == "PAYMENT_AMOUNT_MISMATCH"


def test_a_completed_order_takes_no_payment(square, location_id):
    order = open_order(square, location_id)
    pay(square, order_id=order["id"], amount_money=order["total_money"])

    again = pay(square, expect=400, order_id=order["id"], amount_money=ngn(100))

    assert error_of(again)["field"] == "order_id"


def test_create_payment_honours_and_guards_its_idempotency_key(square, location_id):
    body = {"idempotency_key": "pay-1", "source_id": "CASH", "amount_money": ngn(5000)}
    body["cash_details"] = {"buyer_supplied_money": ngn(5000)}

    first = square("post", "/v2/payments", body).json()["payment"]
    again = square("post", "/v2/payments", body).json()["payment"]
    reused = square("post", "/v2/payments", {**body, "amount_money": ngn(4000)})

    assert again == first
    assert first["location_id"] == location_id  # the main location, none being named
    assert reused.status_code == 400
    assert sandbox_error(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    "change, status, code, field",
    [
        ({"source_id": None}, 400, "MISSING_REQUIRED_PARAMETER", "source_id"),
        ({"source_id": "tok_visa"}, 400, "INVALID_VALUE", "source_id"),
        ({"idempotency_key": "k" * 46}, 400, "VALUE_TOO_LONG", "idempotency_key"),
        ({"amount_money": ngn(0)}, 400, "VALUE_TOO_LOW", "amount_money.amount"),
        (
            {"amount_money": {"amount": 100, "currency": "USD"}},
            400,
            "INVALID_VALUE",
            "amount_money.currency",
        ),
        ({"autocomplete": "yes"}, 400, "EXPECTED_BOOLEAN", "autocomplete"),
        ({"source_id": "CASH"}, 400, "INVALID_VALUE", "cash_details"),
        (
            {"source_id": "CASH", "cash_details": {"buyer_supplied_money": ngn(50)}},
            400,
            "VALUE_TOO_LOW",
            "cash_details.buyer_supplied_money",
        ),
        (
            {"source_id": "EXTERNAL", "external_details": {"type": "BANK_TRANSFER"}},
            400,
            "MISSING_REQUIRED_PARAMETER",
            "external_details.source",
        ),
        ({"order_id": "NOPE"}, 404, "NOT_FOUND", "order_id"),
        ({"location_id": "NOPE"}, 404, "NOT_FOUND", "location_id"),
    ],
)
def test_an_invalid_payment_is_refused_with_squares_envelope(
    square, location_id, change, status, code, field
):
    body = {"idempotency_key": "k", "source_id": "cnon:card-nonce-ok", "amount_money": ngn(100)}
    body = {key: value for key, value in {**body, **change}.items() if value is not None}

    response = square("post", "/v2/payments", body)

    assert response.status_code == status
    error = sandbox_error(response)
    assert (error["code"], error["field"]) == (code, field)


def test_a_declined_card_is_a_payment_method_error(square):
    response = square(
        "post",
        "/v2/payments",
        {"idempotency_key": "k", "source_id": "cnon:card-nonce-declined", "amount_money": ngn(1)},
    )

    assert response.status_code == 402
    assert sandbox_error(response)["category"] == "PAYMENT_METHOD_ERROR"


def test_only_an_approved_payment_completes_and_only_at_its_version(square):
    approved = pay(square, amount_money=ngn(100), autocomplete=False)["payment"]
    path = f"/v2/payments/{approved['id']}/complete"

    stale = square("post", path, {"version_token": "old"})
    done = square("post", path, {"version_token": approved["version_token"]})
    twice = square("post", path, {})

    assert sandbox_error(stale)["code"] == "VERSION_MISMATCH"
    assert done.json()["payment"]["status"] == "COMPLETED"
    assert done.json()["payment"]["version_token"] != approved["version_token"]
    assert twice.status_code == 400
    assert square("get", "/v2/payments/NOPE").status_code == 404


def test_a_payment_is_retrieved_by_its_own_merchant_only(square, client):
    payment = pay(square, amount_money=ngn(100))["payment"]
    stranger = sandbox_merchant_create()

    mine = square("get", f"/v2/payments/{payment['id']}")
    theirs = square("get", f"/v2/payments/{payment['id']}", token=stranger.access_token)

    assert mine.json()["payment"] == payment
    assert theirs.status_code == 404


def page_through(square, path, query, key) -> tuple[list[str], int]:
    seen, pages, cursor = [], 0, None
    while True:
        body = square("get", path, {**query, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in body.get(key, [])]
        pages += 1
        cursor = body.get("cursor")
        if not cursor:
            return seen, pages


def test_list_payments_pages_newest_first_by_default(square):
    made = [pay(square, amount_money=ngn(100 + n))["payment"]["id"] for n in range(5)]

    newest_first, pages = page_through(square, "/v2/payments", {"limit": 2}, "payments")
    oldest_first, _ = page_through(
        square, "/v2/payments", {"limit": 2, "sort_order": "ASC"}, "payments"
    )

    assert pages == 3
    assert oldest_first == made
    assert newest_first == made[::-1]


def test_list_payments_filters_by_time_and_location(square, merchant):
    payment = pay(square, amount_money=ngn(100))["payment"]
    created = datetime.fromisoformat(payment["created_at"])

    def listed(**query):
        body = square("get", "/v2/payments", query).json()
        return [item["id"] for item in body.get("payments", [])]

    assert listed(begin_time=payment["created_at"]) == [payment["id"]]
    assert listed(end_time=payment["created_at"]) == []  # end_time is exclusive
    assert listed(begin_time="2000-01-01T00:00:00Z", end_time="2001-01-01T00:00:00Z") == []
    assert listed(updated_at_begin_time=created.replace(year=created.year + 1).isoformat()) == []
    assert listed(location_id="ELSEWHERE") == []
    # Nothing found: an empty object, as Square answers.
    assert square("get", "/v2/payments", {"location_id": "ELSEWHERE"}).json() == {}


@pytest.mark.parametrize(
    "query, code, field",
    [
        ({"limit": "0"}, "INVALID_VALUE", "limit"),
        ({"limit": "ten"}, "INVALID_VALUE", "limit"),
        ({"sort_order": "UP"}, "INVALID_VALUE", "sort_order"),
        ({"sort_field": "AMOUNT"}, "INVALID_VALUE", "sort_field"),
        ({"begin_time": "yesterday"}, "INVALID_TIME", "begin_time"),
        ({"begin_time": "2026-01-01T00:00:00"}, "INVALID_TIME", "begin_time"),
        (
            {"begin_time": "2026-02-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
            "INVALID_TIME_RANGE",
            "end_time",
        ),
        ({"cursor": "not-a-cursor"}, "INVALID_CURSOR", "cursor"),
    ],
)
def test_list_payments_refuses_a_bad_query(square, query, code, field):
    response = square("get", "/v2/payments", query)

    assert response.status_code == 400
    error = sandbox_error(response)
    assert (error["code"], error["field"]) == (code, field)


def test_a_limit_over_100_is_taken_as_100(square):
    for n in range(3):
        pay(square, amount_money=ngn(100 + n))

    response = square("get", "/v2/payments", {"limit": "500"})

    assert response.status_code == 200
    assert len(response.json()["payments"]) == 3


def tampered(cursor: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[5] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def test_a_cursor_is_opaque_signed_and_bound_to_its_query(square, location_id):
    for n in range(3):
        pay(square, amount_money=ngn(100 + n))
    cursor = square("get", "/v2/payments", {"limit": 1}).json()["cursor"]
    for _ in range(3):
        open_order(square, location_id)
    search = {"location_ids": [location_id], "limit": 1}
    order_cursor = square("post", "/v2/orders/search", search).json()["cursor"]

    answers = [
        square("get", "/v2/payments", {"limit": 1, "cursor": tampered(cursor)}),
        # The same cursor with another query, or at another endpoint.
        square("get", "/v2/payments", {"limit": 1, "sort_order": "ASC", "cursor": cursor}),
        square("post", "/v2/orders/search", {**search, "cursor": cursor}),
        square("get", "/v2/refunds", {"limit": 1, "cursor": cursor}),
        square("post", "/v2/orders/search", {**search, "cursor": tampered(order_cursor)}),
    ]

    assert square("get", "/v2/payments", {"limit": 1, "cursor": cursor}).status_code == 200
    assert (
        square("post", "/v2/orders/search", {**search, "cursor": order_cursor}).status_code == 200
    )
    assert [(a.status_code, sandbox_error(a)["code"]) for a in answers] == [
        (400, "INVALID_CURSOR")
    ] * 5


def test_an_order_completed_while_a_client_pages_is_not_skipped(square, location_id):
    """With offsets, an order that moves behind the cursor would shift the next page."""
    orders = [open_order(square, location_id) for _ in range(4)]
    query = {
        "location_ids": [location_id],
        "limit": 2,
        "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
    }

    first = square("post", "/v2/orders/search", query).json()
    pay(square, order_id=orders[0]["id"], amount_money=orders[0]["total_money"])
    rest = square("post", "/v2/orders/search", {**query, "cursor": first["cursor"]}).json()

    seen = [order["id"] for order in first["orders"] + rest["orders"]]
    assert set(seen) == {order["id"] for order in orders}


# --- refunds -------------------------------------------------------------------------------


def paid_order(square, location_id) -> tuple[dict, dict]:
    order = open_order(square, location_id)
    payment = pay(square, order_id=order["id"], amount_money=order["total_money"])["payment"]
    return order_of(square, order["id"]), payment


def refund(square, payment, amount, *, expect=200, **request) -> dict:
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "payment_id": payment["id"],
        "amount_money": ngn(amount),
        **request,
    }
    response = square("post", "/v2/refunds", body)
    assert response.status_code == expect, response.json()
    return response.json()


def test_a_full_refund_shows_on_the_payment_and_the_order(square, location_id):
    order, payment = paid_order(square, location_id)
    total = order["total_money"]["amount"]

    made = refund(square, payment, total, reason="Damaged bag")["refund"]
    fetched = square("get", f"/v2/refunds/{made['id']}").json()["refund"]
    payment_now = square("get", f"/v2/payments/{payment['id']}").json()["payment"]
    order_now = order_of(square, order["id"])

    assert made == fetched
    assert made["status"] == "COMPLETED"
    assert made["id"].startswith(f"{payment['id']}_")
    assert (made["payment_id"], made["order_id"]) == (payment["id"], order["id"])
    assert made["destination_type"] == "CARD"
    assert payment_now["refunded_money"] == ngn(total)
    assert payment_now["refund_ids"] == [made["id"]]
    [entry] = order_now["refunds"]
    assert (entry["id"], entry["tender_id"], entry["status"]) == (
        made["id"],
        payment["id"],
        "APPROVED",
    )
    assert order_now["return_amounts"]["total_money"] == ngn(total)
    assert order_now["return_amounts"]["tax_money"] == order["total_tax_money"]
    assert order_now["net_amounts"]["total_money"] == ngn(0)
    assert order_now["net_amounts"]["tax_money"] == ngn(0)
    assert order_now["state"] == "COMPLETED"
    assert order_now["version"] > order["version"]
    credit = refund_from_refund_object(made, order=order_now)
    assert refund_is_completed(made)
    assert credit.original_external_id == order["id"]
    assert credit.total == Decimal(total) / 100
    assert len(credit.lines) == len(order["line_items"])  # a full refund is itemised


def test_partial_refunds_never_give_back_more_than_was_paid(square, location_id):
    order, payment = paid_order(square, location_id)
    total = order["total_money"]["amount"]

    refund(square, payment, 1000)
    refund(square, payment, total - 1500)
    too_much = refund(square, payment, 501, expect=400)
    last = refund(square, payment, 500)["refund"]
    order_now = order_of(square, order["id"])

    assert error_of(too_much)["code"] == "REFUND_AMOUNT_INVALID"
    assert error_of(too_much)["category"] == "REFUND_ERROR"
    assert last["status"] == "COMPLETED"
    assert len(order_now["refunds"]) == 3
    assert order_now["return_amounts"]["total_money"] == ngn(total)


def test_a_held_or_unknown_payment_cannot_be_refunded(square):
    held = pay(square, amount_money=ngn(100), autocomplete=False)["payment"]

    early = refund(square, held, 100, expect=400)
    unknown = refund(square, {"id": "NOPE"}, 100, expect=404)
    unlinked = refund(square, held, 100, expect=400, unlinked=True)

    assert error_of(early)["code"] == "REFUND_ERROR_PAYMENT_NEEDS_COMPLETION"
    assert error_of(unknown)["field"] == "payment_id"
    assert error_of(unlinked)["field"] == "unlinked"


def test_refund_payment_honours_and_guards_its_idempotency_key(square, location_id):
    _, payment = paid_order(square, location_id)
    body = {"idempotency_key": "refund-1", "payment_id": payment["id"], "amount_money": ngn(300)}

    first = square("post", "/v2/refunds", body).json()["refund"]
    again = square("post", "/v2/refunds", body).json()["refund"]
    reused = square("post", "/v2/refunds", {**body, "amount_money": ngn(200)})
    payment_now = square("get", f"/v2/payments/{payment['id']}").json()["payment"]

    assert again == first
    assert sandbox_error(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert payment_now["refunded_money"] == ngn(300)


def test_a_refund_is_pending_until_settled(merchant, square, location_id):
    order, payment = paid_order(square, location_id)

    pending = sandbox_refund_create(
        merchant=merchant,
        body={"idempotency_key": "r", "payment_id": payment["id"], "amount_money": ngn(700)},
    )
    order_pending = SquareSandboxOrder.objects.get(order_id=order["id"]).data
    settled = sandbox_refund_complete(merchant=merchant, refund_id=pending.refund_id)
    order_settled = SquareSandboxOrder.objects.get(order_id=order["id"]).data

    assert pending.data["status"] == "PENDING"
    assert order_pending["refunds"][0]["status"] == "PENDING"
    assert "return_amounts" not in order_pending
    assert settled.data["status"] == "COMPLETED"
    assert order_settled["refunds"][0]["status"] == "APPROVED"
    assert order_settled["return_amounts"]["total_money"] == ngn(700)
    assert order_settled["version"] == order_pending["version"] + 1


def test_list_refunds_pages_and_filters(square, location_id):
    _, payment = paid_order(square, location_id)
    made = [refund(square, payment, 100 + n)["refund"]["id"] for n in range(3)]

    listed, pages = page_through(
        square, "/v2/refunds", {"limit": 2, "sort_order": "ASC"}, "refunds"
    )
    completed = square("get", "/v2/refunds", {"status": "COMPLETED"}).json()
    pending = square("get", "/v2/refunds", {"status": "PENDING"}).json()
    cash = square("get", "/v2/refunds", {"source_type": "CASH"}).json()
    bad = square("get", "/v2/refunds", {"status": "DONE"})

    assert (listed, pages) == (made, 2)
    assert len(completed["refunds"]) == 3
    assert pending == cash == {}
    assert sandbox_error(bad)["field"] == "status"
    assert square("get", "/v2/refunds/NOPE").status_code == 404
