"""Toast deliveries at a connection's endpoint: the signature matrix (nothing forged accepted or
stored, nothing answered 500), deduplication on the event and on the order's version, the
attempt number logged, and orders past 600 KB taken."""

import json
import logging
import uuid

import pytest

from integrations.base.models import InboundEvent
from integrations.pos.toast.signatures import toast_signature
from tests.integrations.pos.toast.connections import order_delivery, toast_connection
from tests.integrations.pos.toast.support import paid_check, toast_order

pytestmark = pytest.mark.django_db
SITE = "http://testserver"


@pytest.fixture
def connection(monkeypatch):
    from integrations.base import families

    monkeypatch.setattr(
        families.get("pos").tasks.process_event, "apply_async", lambda **kwargs: None
    )
    return toast_connection(site_url=SITE)


def post(client, connection, body, headers):
    return client.post(
        f"/webhooks/pos/toast/{connection.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def _flipped(body: bytes) -> bytes:
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 1
    return bytes(flipped)


def _timestamp_altered(body: bytes) -> bytes:
    envelope = json.loads(body)
    envelope["timestamp"] = "2099-01-01T00:00:00.000Z"
    return json.dumps(envelope).encode()


FORGERIES = {
    "one bit flipped": lambda body, headers, secret: (_flipped(body), headers),
    "wrong key": lambda body, headers, secret: (
        body,
        {
            **headers,
            "Toast-Signature": toast_signature(
                secret="not-the-secret", body=body, timestamp=json.loads(body)["timestamp"]
            ),
        },
    ),
    "missing header": lambda body, headers, secret: (
        body,
        {k: v for k, v in headers.items() if k != "Toast-Signature"},
    ),
    "timestamp altered": lambda body, headers, secret: (_timestamp_altered(body), headers),
    "empty body": lambda body, headers, secret: (b"", headers),
}


def test_the_signature_matrix_accepts_only_the_genuine_delivery(client, connection):
    body, headers = order_delivery(connection, toast_order(paid_check()))
    answers = {}
    for name, forge in FORGERIES.items():
        forged_body, forged_headers = forge(body, headers, connection.webhook_secret)
        answers[name] = post(client, connection, forged_body, forged_headers).status_code

    assert answers == dict.fromkeys(FORGERIES, 401)
    assert not InboundEvent.objects.exists()
    assert post(client, connection, body, headers).status_code == 200
    assert InboundEvent.objects.count() == 1


def test_a_redelivery_and_another_event_about_the_same_version_are_one(client, connection, caplog):
    order = toast_order(paid_check())
    body, headers = order_delivery(connection, order)
    again = {**headers, "Toast-Attempt-Number": "2"}
    # channel_order_updated about the same version of the order: another event guid.
    envelope = {**json.loads(body), "guid": str(uuid.uuid4()), "eventType": "channel_order_updated"}
    other = json.dumps(envelope).encode()
    other_headers = {
        **headers,
        "Toast-Signature": toast_signature(
            secret=connection.webhook_secret, body=other, timestamp=envelope["timestamp"]
        ),
    }

    with caplog.at_level(logging.INFO, logger="integrations.base.services"):
        first = post(client, connection, body, headers).json()
        second = post(client, connection, body, again).json()
        third = post(client, connection, other, other_headers).json()

    assert first == {"stored": 1, "duplicates": 0}
    assert second == third == {"stored": 0, "duplicates": 1}
    assert InboundEvent.objects.count() == 1
    assert "toast delivery attempt 2: 0 events stored, 1 already stored" in caplog.text


def test_an_order_past_600_kb_is_taken(client, connection):
    items = [{"displayName": f"Item {i} " + "x" * 200, "price": 100} for i in range(900)]
    order = toast_order(paid_check(*items))
    body, headers = order_delivery(connection, order)
    assert len(body) > 600 * 1024

    assert post(client, connection, body, headers).status_code == 200
    assert InboundEvent.objects.count() == 1
