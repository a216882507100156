"""What the Square connector decides from a webhook event alone, before any HTTP."""

import copy
import json
from pathlib import Path

import pytest

from integrations.pos.square.connector import SquareConnector
from integrations.pos.square.mappers import webhook_events

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
WEBHOOK_SAMPLES = sorted(path.stem for path in FIXTURES_DIR.glob("webhook-*.json"))


class NoFetching(SquareConnector):
    """A connector whose platform must not be asked."""

    def __init__(self):
        super().__init__(connection=None)

    @property
    def client(self):
        raise AssertionError("the platform was asked")

    def _mapping_options(self) -> dict:
        return {}


def _variants(envelope: dict):
    """The sample itself, and with every order state and payment status Square sends."""
    yield envelope
    body = envelope["data"].get("object") or {}
    for key in ("order_created", "order_updated"):
        for state in ("OPEN", "COMPLETED", "CANCELED", "DRAFT"):
            if isinstance(body.get(key), dict):
                variant = copy.deepcopy(envelope)
                variant["data"]["object"][key]["state"] = state
                yield variant
    if isinstance(body.get("payment"), dict):
        for status in ("APPROVED", "PENDING", "COMPLETED", "CANCELED", "FAILED"):
            variant = copy.deepcopy(envelope)
            variant["data"]["object"]["payment"]["status"] = status
            yield variant


@pytest.mark.parametrize("name", WEBHOOK_SAMPLES)
def test_an_event_not_worth_processing_would_have_made_no_sale(name):
    envelope = json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    for variant in _variants(envelope):
        (event,) = webhook_events(json.dumps(variant).encode())
        if not SquareConnector.event_needs_processing(event):
            assert NoFetching().sales_for_event(event) == []


@pytest.mark.parametrize(
    ("name", "field", "value", "needed"),
    [
        ("webhook-order.updated", "state", "COMPLETED", True),
        ("webhook-order.updated", "state", "OPEN", False),
        ("webhook-payment.updated", "status", "COMPLETED", True),
        ("webhook-payment.created", "status", "APPROVED", False),
        ("webhook-refund.created", None, None, True),
        ("webhook-customer.created", None, None, False),
        ("webhook-catalog.version.updated", None, None, False),
    ],
)
def test_only_completed_orders_payments_and_refunds_are_queued(name, field, value, needed):
    envelope = json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    body = envelope["data"]["object"]
    if field:
        target = body.get("payment") or body.get("order_updated") or body.get("order_created")
        target[field] = value
    (event,) = webhook_events(json.dumps(envelope).encode())

    assert SquareConnector.event_needs_processing(event) is needed


def test_a_malformed_event_is_queued_so_that_processing_records_why():
    envelope = json.loads((FIXTURES_DIR / "webhook-payment.updated.json").read_text())
    envelope["data"]["object"]["payment"] = "not an object"
    (event,) = webhook_events(json.dumps(envelope).encode())

    assert SquareConnector.event_needs_processing(event) is True


@pytest.mark.parametrize(
    ("name", "field", "value", "subject"),
    [
        ("webhook-order.updated", "state", "COMPLETED", "order_id"),
        ("webhook-order.updated", "state", "OPEN", ""),
        ("webhook-payment.updated", "status", "COMPLETED", "order_id"),
        ("webhook-payment.created", "status", "APPROVED", ""),
        ("webhook-refund.created", None, None, ""),
        ("webhook-customer.created", None, None, ""),
    ],
)
def test_the_subject_of_an_event_is_the_completed_sale_it_names(name, field, value, subject):
    envelope = json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    body = envelope["data"]["object"]
    target = body.get("payment") or body.get("order_updated") or body.get("order_created")
    if field:
        target[field] = value
    (event,) = webhook_events(json.dumps(envelope).encode())

    assert SquareConnector.event_subject(event) == (target[subject] if subject else "")


@pytest.mark.parametrize(
    "body",
    [
        {"payment": "not an object"},
        {"payment": {"status": "COMPLETED"}},
        {"payment": {"status": "COMPLETED", "order_id": 7}},
    ],
)
def test_a_malformed_event_has_no_subject(body):
    envelope = json.loads((FIXTURES_DIR / "webhook-payment.updated.json").read_text())
    envelope["data"]["object"] = body
    (event,) = webhook_events(json.dumps(envelope).encode())

    assert SquareConnector.event_subject(event) == ""
