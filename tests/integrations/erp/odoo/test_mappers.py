"""Odoo's moves to documents: the sample invoice and credit note to the cent, price-included
and discounted lines keeping Odoo's own subtotals, and the moves that must not map."""

import copy
import json
from decimal import Decimal

import pytest

from integrations.base.canonical import DocumentKind
from integrations.base.errors import MappingError
from integrations.erp.odoo import mappers
from tests.integrations.erp.odoo.support import (
    FIXTURES,
    as_read,
    sample_move_map,
    sample_records,
)


def _move(move_id: int) -> dict:
    return next(move for move in sample_records()["moves"] if move["id"] == move_id)


def _round2(line) -> Decimal:
    return (line.quantity * line.unit_price).quantize(Decimal("0.01")) - line.discount


def test_the_sample_invoice_keeps_odoos_lines_taxes_and_totals():
    document = sample_move_map(_move(42))

    assert (document.kind, document.number, document.currency) == (
        DocumentKind.INVOICE,
        "INV/2026/00042",
        "NGN",
    )
    # The section and the tax and receivable lines are not invoice lines.
    assert [line.name for line in document.lines] == [
        "[10001] Jollof Rice",
        "[10002] Chapman",
        "Sliced bread",
    ]
    assert [_round2(line) for line in document.lines] == [
        Decimal("5000.00"),
        Decimal("1255.81"),
        Decimal("999.99"),
    ]
    assert [(tax.rate, tax.taxable_amount, tax.tax_amount) for tax in document.taxes] == [
        (Decimal("7.5"), Decimal("6255.81"), Decimal("469.19")),
        (Decimal("0.0"), Decimal("999.99"), Decimal("0")),
    ]
    assert document.total == Decimal("7724.99")
    assert document.buyer.tin == "31569955-0001" and document.buyer.state == "NG-LA"
    assert document.is_posted and not document.is_cancelled


def test_a_price_included_discounted_line_is_its_net_before_discount_less_the_discount():
    chapman = sample_move_map(_move(42)).lines[1]

    # 1500 gross less 10 % is 1350 with VAT, 1255.81 without: 1395.34 net less 139.53.
    assert (chapman.unit_price, chapman.discount) == (Decimal("1395.34"), Decimal("139.53"))
    assert chapman.tax_amount == Decimal("94.19")


def test_the_sample_credit_note_names_the_invoice_it_reverses():
    credit = sample_move_map(_move(43))

    assert credit.kind == DocumentKind.CREDIT_NOTE
    assert credit.original_external_id == "42"
    assert (credit.total, credit.tax_total) == (Decimal("2687.50"), Decimal("187.50"))


def test_a_move_whose_lines_do_not_make_its_total_is_refused():
    move = copy.deepcopy(_move(42))
    move["amount_total"] = 7725.0

    with pytest.raises(MappingError, match="amount_total"):
        sample_move_map(move)


def test_a_vendor_bill_is_not_a_customer_document():
    move = {**_move(42), "move_type": "in_invoice"}

    with pytest.raises(MappingError, match="not a customer document"):
        sample_move_map(move)


def test_a_cancelled_or_paid_move_says_so():
    cancelled = sample_move_map({**_move(42), "state": "cancel"})
    paid = sample_move_map({**_move(42), "payment_state": "paid"})

    assert (cancelled.is_posted, cancelled.is_cancelled) == (False, True)
    assert paid.is_paid


def test_a_line_with_two_charged_taxes_is_refused():
    records = sample_records()
    lines = [
        {**line, "tax_ids": [3, 4]} if line["id"] == 101 else line
        for line in as_read(records["lines"])
    ]
    with pytest.raises(MappingError, match="one VAT rate"):
        mappers.document_from_odoo(
            as_read(_move(42)),
            lines=[line for line in lines if line["move_id"][0] == 42],
            taxes=records["taxes"],
            partner=None,
            states={},
        )


def test_every_webhook_sample_is_one_hint_about_its_record():
    for path in sorted(FIXTURES.glob("automation-*.json")):
        [event] = mappers.webhook_events(path.read_bytes())
        body = json.loads(path.read_bytes())

        assert event.object_id == str(body["_id"]) and event.event_type == body["_model"]
        # Only the hint is kept: the delivery is never data.
        assert set(event.payload) == {"_model", "_id", "_action"}


def test_the_same_delivery_twice_is_one_event_id():
    body = (FIXTURES / "automation-send-webhook-account.move.json").read_bytes()

    assert mappers.webhook_events(body)[0].event_id == mappers.webhook_events(body)[0].event_id
    assert (
        mappers.webhook_events(body)[0].event_id != mappers.webhook_events(body + b" ")[0].event_id
    )


@pytest.mark.parametrize(
    "body",
    [b'{"_model": "account.move"}', b'{"_model": "", "_id": 1}', b'{"_model": "x", "_id": true}'],
)
def test_a_hint_without_a_model_and_id_is_refused(body):
    with pytest.raises(MappingError):
        mappers.webhook_events(body)
