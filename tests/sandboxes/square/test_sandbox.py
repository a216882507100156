import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.pos.square.mappers import order_is_completed, sale_from_order
from invoices.builder import invoice_build
from invoices.validation import decimal_from_json
from sandboxes.square.api import sandbox_merchant_create
from tests.integrations.pos.square.support import CODES, SUPPLIER

BASE = "/sandbox/square"


@pytest.fixture
def merchant(db):
    return sandbox_merchant_create()


@pytest.fixture
def location_id(merchant):
    return merchant.locations.get().location_id


@pytest.fixture
def square(client, merchant):
    """Calls the sandbox as the merchant: square("post", "/v2/orders", {...})."""

    def call(method, path, body=None, *, token=merchant.access_token):
        return getattr(client, method)(
            BASE + path,
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )

    return call


def ngn(amount: int) -> dict:
    return {"amount": amount, "currency": "NGN"}


def order_create(square, location_id, *, key=None, **order) -> dict:
    body = {
        "idempotency_key": key or str(uuid.uuid4()),
        "order": {
            "location_id": location_id,
            "line_items": [{"name": "Rice 5kg", "quantity": "1", "base_price_money": ngn(500000)}],
            **order,
        },
    }
    response = square("post", "/v2/orders", body)
    assert response.status_code == 200, response.json()
    return response.json()["order"]


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_a_request_without_a_valid_token_is_unauthorized(square, token):
    response = square("get", "/v2/locations", token=token)

    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["category"] == "AUTHENTICATION_ERROR"
    assert error["code"] == "UNAUTHORIZED"
    assert error["detail"]


def test_locations_lists_the_merchants_locations(square, merchant, location_id):
    response = square("get", "/v2/locations")

    assert response.status_code == 200
    [location] = response.json()["locations"]
    assert location["id"] == location_id
    assert location["merchant_id"] == merchant.merchant_id
    assert location["currency"] == "NGN"


def test_create_order_honours_the_idempotency_key(square, location_id):
    first = order_create(square, location_id, key="sale-1")
    again = order_create(square, location_id, key="sale-1")
    other = order_create(square, location_id, key="sale-2")

    assert again == first
    assert other["id"] != first["id"]
    assert first["state"] == "OPEN"
    assert first["version"] == 1


@pytest.mark.parametrize(
    "order, field",
    [
        ({"line_items": []}, "order.line_items"),
        (
            {"line_items": [{"quantity": "one", "base_price_money": ngn(100)}]},
            "order.line_items[0].quantity",
        ),
        (
            {
                "line_items": [
                    {"quantity": "1", "base_price_money": {"amount": 1.5, "currency": "NGN"}}
                ]
            },
            "order.line_items[0].base_price_money.amount",
        ),
        (
            {
                "line_items": [
                    {"quantity": "1", "base_price_money": {"amount": 100, "currency": "USD"}}
                ]
            },
            "order.line_items[0].base_price_money.currency",
        ),
    ],
)
def test_an_invalid_order_is_refused_with_squares_envelope(square, location_id, order, field):
    body = {"idempotency_key": "k", "order": {"location_id": location_id, **order}}

    response = square("post", "/v2/orders", body)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["category"] == "INVALID_REQUEST_ERROR"
    assert error["field"] == field


MIXED_ORDER = {
    "taxes": [
        {
            "uid": "vat-add",
            "name": "VAT",
            "percentage": "7.5",
            "type": "ADDITIVE",
            "scope": "LINE_ITEM",
        },
        {
            "uid": "vat-inc",
            "name": "VAT",
            "percentage": "7.5",
            "type": "INCLUSIVE",
            "scope": "LINE_ITEM",
        },
    ],
    "discounts": [
        {
            "uid": "promo",
            "name": "Promo",
            "type": "FIXED_PERCENTAGE",
            "percentage": "10",
            "scope": "LINE_ITEM",
        },
        {
            "uid": "coupon",
            "name": "Coupon",
            "type": "FIXED_AMOUNT",
            "amount_money": ngn(33333),
            "scope": "ORDER",
        },
    ],
    "line_items": [
        {
            "uid": "rice",
            "name": "Rice 5kg",
            "quantity": "3",
            "base_price_money": ngn(1234567),
            "applied_taxes": [{"tax_uid": "vat-add"}],
            "applied_discounts": [{"discount_uid": "promo"}],
        },
        {
            "uid": "oil",
            "name": "Palm oil",
            "quantity": "1.5",
            "base_price_money": ngn(250033),
            "applied_taxes": [{"tax_uid": "vat-inc"}],
        },
        {"uid": "salt", "name": "Salt", "quantity": "2", "base_price_money": ngn(9999)},
    ],
}


def test_totals_are_computed_as_square_computes_them(square, location_id):
    order = order_create(square, location_id, **MIXED_ORDER)
    rice, oil, salt = order["line_items"]

    # Rice: 3 x 12,345.67 = 37,037.01; 10 % off = 3,703.70; its share of the coupon.
    assert rice["gross_sales_money"] == ngn(3703701)
    rice_discounts = {
        a["discount_uid"]: a["applied_money"]["amount"] for a in rice["applied_discounts"]
    }
    assert rice_discounts["promo"] == 370370
    rice_taxable = 3703701 - rice["total_discount_money"]["amount"]
    rice_vat = int((Decimal(rice_taxable) * Decimal("0.075")).quantize(Decimal(1), "ROUND_HALF_UP"))
    assert rice["total_tax_money"] == ngn(rice_vat)
    assert rice["total_money"] == ngn(rice_taxable + rice_vat)
    # Palm oil: 1.5 x 2,500.33 = 3,750.495 -> 3,750.50, VAT already inside.
    assert oil["gross_sales_money"] == ngn(375050)
    oil_paid = 375050 - oil["total_discount_money"]["amount"]
    assert oil["total_money"] == ngn(oil_paid)
    oil_vat = Decimal(oil_paid) * Decimal("7.5") / Decimal("107.5")
    assert oil["total_tax_money"] == ngn(int(oil_vat.quantize(Decimal(1), "ROUND_HALF_UP")))
    # The coupon is spread over every line, to the kobo.
    assert (
        sum(
            a["applied_money"]["amount"]
            for line in order["line_items"]
            for a in line["applied_discounts"]
            if a["discount_uid"] == "coupon"
        )
        == 33333
    )
    assert salt["total_tax_money"] == ngn(0)
    for key in ("total_money", "total_tax_money", "total_discount_money"):
        assert order[key] == ngn(sum(line[key]["amount"] for line in order["line_items"]))
    assert order["total_discount_money"] == ngn(370370 + 33333)


# The discount applies to every line; each line carries one kind of VAT, added or included.
ORDER_SCOPED = {
    "taxes": [
        {
            "uid": "vat-added",
            "name": "VAT",
            "percentage": "7.5",
            "type": "ADDITIVE",
            "scope": "LINE_ITEM",
        },
        {
            "uid": "vat-included",
            "name": "VAT",
            "percentage": "7.5",
            "type": "INCLUSIVE",
            "scope": "LINE_ITEM",
        },
    ],
    "discounts": [
        {"uid": "staff", "name": "Staff", "type": "FIXED_PERCENTAGE", "percentage": "12.5"}
    ],
    "line_items": [
        {
            "name": "Indomie carton",
            "quantity": "2",
            "base_price_money": ngn(1099999),
            "applied_taxes": [{"tax_uid": "vat-included"}],
        },
        {
            "name": "Peak milk",
            "quantity": "0.33333",
            "base_price_money": ngn(77777),
            "applied_taxes": [{"tax_uid": "vat-added"}],
        },
    ],
}


@pytest.mark.parametrize("order", [MIXED_ORDER, ORDER_SCOPED], ids=["mixed", "order-scoped"])
def test_a_completed_order_becomes_an_invoice_payable_to_the_kobo(square, location_id, order):
    created = order_create(square, location_id, **order)
    completed = square("post", f"/_sandbox/orders/{created['id']}/complete").json()["order"]
    fetched = square("get", f"/v2/orders/{created['id']}").json()["order"]

    sale = sale_from_order(
        fetched, default_hs_code="3402.5000", default_product_category="Retail goods"
    )
    invoice = invoice_build(
        source=sale,
        supplier=SUPPLIER,
        codes=CODES,
        invoice_number="SQ0001",
        issue_datetime=datetime(2026, 1, 15, 18, 7, 55, tzinfo=ZoneInfo("Africa/Lagos")),
        service_id=SUPPLIER.firs_service_id,
        business_id=SUPPLIER.firs_business_id,
    )

    assert completed == fetched
    assert order_is_completed(fetched)
    assert fetched["version"] == 2
    payable = decimal_from_json(invoice["legal_monetary_total"]["payable_amount"])
    assert payable == Decimal(fetched["total_money"]["amount"]) / 100


def test_update_order_completes_an_order_of_the_right_version(square, location_id):
    order = order_create(square, location_id)
    path = f"/v2/orders/{order['id']}"

    stale = square("put", path, {"order": {"version": 7, "state": "COMPLETED"}})
    done = square("put", path, {"order": {"version": 1, "state": "COMPLETED"}})

    assert stale.status_code == 400
    assert stale.json()["errors"][0]["code"] == "VERSION_MISMATCH"
    assert done.status_code == 200
    assert done.json()["order"]["state"] == "COMPLETED"


def test_retrieving_an_unknown_order_is_not_found(square):
    response = square("get", "/v2/orders/NOPE")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_batch_retrieve_returns_the_orders_found_in_the_order_asked(square, location_id):
    first, second = order_create(square, location_id), order_create(square, location_id)

    response = square(
        "post", "/v2/orders/batch-retrieve", {"order_ids": [second["id"], "NOPE", first["id"]]}
    )

    assert response.status_code == 200
    assert response.json()["orders"] == [second, first]


def test_batch_retrieve_does_not_show_another_merchants_orders(square, client, location_id):
    order = order_create(square, location_id)
    stranger = sandbox_merchant_create()

    response = square(
        "post",
        "/v2/orders/batch-retrieve",
        {"order_ids": [order["id"]]},
        token=stranger.access_token,
    )

    assert response.json()["orders"] == []


def test_search_pages_visit_every_order_exactly_once(square, location_id):
    created = {order_create(square, location_id)["id"] for _ in range(7)}
    query = {
        "location_ids": [location_id],
        "limit": 3,
        "query": {
            "filter": {
                "date_time_filter": {"updated_at": {"start_at": "2000-01-01T00:00:00Z"}},
                "state_filter": {"states": ["OPEN"]},
            },
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        },
    }

    seen, pages, cursor = [], 0, None
    while True:
        body = {**query, **({"cursor": cursor} if cursor else {})}
        page = square("post", "/v2/orders/search", body).json()
        seen += [order["id"] for order in page["orders"]]
        pages += 1
        cursor = page.get("cursor")
        if not cursor:
            break

    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_search_filters_by_state_and_time(square, location_id):
    open_order = order_create(square, location_id)
    done = order_create(square, location_id)
    done = square("post", f"/_sandbox/orders/{done['id']}/complete").json()["order"]

    def search(**filters):
        body = {"location_ids": [location_id], "query": {"filter": filters}}
        return [order["id"] for order in square("post", "/v2/orders/search", body).json()["orders"]]

    assert search(state_filter={"states": ["COMPLETED"]}) == [done["id"]]
    assert search(state_filter={"states": ["OPEN"]}) == [open_order["id"]]
    future = {"created_at": {"start_at": "2999-01-01T00:00:00Z"}}
    assert search(date_time_filter=future) == []
    until_done = {"updated_at": {"end_at": done["updated_at"]}}
    body = {
        "location_ids": [location_id],
        "query": {"filter": {"date_time_filter": until_done}, "sort": {"sort_field": "UPDATED_AT"}},
    }
    found = square("post", "/v2/orders/search", body).json()["orders"]
    assert {order["id"] for order in found} == {open_order["id"], done["id"]}


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "location_ids"),
        ({"location_ids": [f"L{n}" for n in range(11)]}, "location_ids"),
        ({"location_ids": ["L"], "limit": 1001}, "limit"),
        (
            {
                "location_ids": ["L"],
                "query": {
                    "filter": {
                        "date_time_filter": {"updated_at": {"start_at": "2026-01-01T00:00:00Z"}}
                    }
                },
            },
            "query.sort.sort_field",
        ),
        ({"location_ids": ["L"], "cursor": "%%%"}, "cursor"),
    ],
)
def test_search_refuses_a_bad_request(square, body, field):
    response = square("post", "/v2/orders/search", body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_line_scoped_amount_comes_off_each_line_but_never_below_zero(square, location_id):
    order = order_create(
        square,
        location_id,
        discounts=[
            {"uid": "d", "type": "FIXED_AMOUNT", "amount_money": ngn(1000), "scope": "LINE_ITEM"}
        ],
        line_items=[
            {
                "quantity": "1",
                "base_price_money": ngn(5000),
                "applied_discounts": [{"discount_uid": "d"}],
            },
            {
                "quantity": "1",
                "base_price_money": ngn(600),
                "applied_discounts": [{"discount_uid": "d"}],
            },
        ],
    )

    assert [line["total_money"]["amount"] for line in order["line_items"]] == [4000, 0]
    assert order["discounts"][0]["applied_money"] == ngn(1600)
    assert order["total_money"] == ngn(4000)
