"""The POS webhook endpoints: signatures checked on raw bytes before anything is stored (B1),
events stored before the 2xx and deduplicated, refused deliveries quarantined."""

import json

import pytest

from integrations.base import events
from integrations.base.models import InboundEvent, QuarantinedDelivery
from integrations.base.tasks import family_tasks
from integrations.pos.models import POSTransaction
from integrations.pos.square.signatures import SIGNATURE_HEADER
from tests.integrations.pos.support import order_event, signed, square_connection

event_process_task = family_tasks("pos").process_event

SITE = "http://testserver"


@pytest.fixture
def connection(db):
    return square_connection(site_url=SITE)


@pytest.fixture
def published(monkeypatch):
    """Event ids handed to the realtime queue (the publish itself is not under test here)."""
    sent = []
    monkeypatch.setattr(
        event_process_task,
        "apply_async",
        lambda *, kwargs, queue: sent.append((kwargs["event_id"], queue)),
    )
    return sent


def _order(connection, state="COMPLETED"):
    return {
        "id": "ORDER-1",
        "state": state,
        "version": 4,
        "location_id": connection.external_location_id,
        "updated_at": "2026-11-20T10:00:00Z",
    }


def _post(client, connection, body, headers):
    return client.post(
        f"/webhooks/pos/square/{connection.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_a_signed_delivery_is_stored_then_queued(client, connection, published):
    envelope = order_event(connection, _order(connection), event_id="evt-1")
    body, headers = signed(connection, envelope)

    response = _post(client, connection, body, headers)

    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0}
    event = InboundEvent.objects.get()
    assert (event.event_id, event.event_type, event.status) == ("evt-1", "order.updated", "pending")
    assert event.payload == envelope
    # The sale it is about, so that the event working on the sale can settle this one.
    assert event.subject_id == "ORDER-1"
    assert str(event.connection_id) == str(connection.pk)
    # Queued on commit only: this test's transaction never commits.
    assert published == []


@pytest.mark.django_db(transaction=True)
def test_the_task_is_published_only_after_the_event_is_committed(client, published):
    connection = square_connection(site_url=SITE)
    body, headers = signed(connection, order_event(connection, _order(connection)))

    response = _post(client, connection, body, headers)

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert published == [(event.pk, "realtime")]


@pytest.mark.django_db(transaction=True)
def test_an_open_order_is_kept_as_ignored_and_not_queued(client, published):
    connection = square_connection(site_url=SITE)
    opened = order_event(connection, _order(connection, state="OPEN"), event_id="evt-open")
    completed = order_event(connection, _order(connection), event_id="evt-done")

    for envelope in (opened, completed):
        body, headers = signed(connection, envelope)
        assert _post(client, connection, body, headers).json() == {"stored": 1, "duplicates": 0}

    kept = {event.event_id: event for event in InboundEvent.objects.all()}
    assert kept["evt-open"].status == "ignored" and kept["evt-open"].processed_at
    assert kept["evt-open"].payload == opened
    assert kept["evt-open"].subject_id == ""
    assert kept["evt-done"].status == "pending"
    assert published == [(kept["evt-done"].pk, "realtime")]


def _flip_one_bit(body: bytes) -> bytes:
    flipped = bytearray(body)
    flipped[len(flipped) // 2] ^= 0x01
    return bytes(flipped)


B1_CASES = {
    "one bit flipped in the body": lambda c, body, headers: (_flip_one_bit(body), headers),
    "signed with another key": lambda c, body, headers: (
        body,
        signed(c, json.loads(body), key="not-the-key")[1],
    ),
    "no signature header": lambda c, body, headers: (body, {}),
    "signed for another URL": lambda c, body, headers: (
        body,
        signed(c, json.loads(body), url="https://attacker.example/webhooks/")[1],
    ),
    "empty body": lambda c, body, headers: (b"", headers),
    "garbage signature": lambda c, body, headers: (body, {SIGNATURE_HEADER: "x" * 44}),
}


@pytest.mark.parametrize("case", B1_CASES)
def test_only_a_valid_signature_is_accepted(client, connection, published, case):
    body, headers = signed(connection, order_event(connection, _order(connection)))
    body, headers = B1_CASES[case](connection, body, headers)

    response = _post(client, connection, body, headers)

    assert response.status_code == 401
    assert response.json() == {"error": "bad signature"}
    assert not InboundEvent.objects.exists()
    assert not POSTransaction.objects.exists()
    quarantined = QuarantinedDelivery.objects.get()
    assert quarantined.reason == "bad signature"
    assert bytes(quarantined.body) == body
    # The signature itself is not kept.
    assert all(
        value == "(withheld)" for name, value in quarantined.headers.items() if "ignature" in name
    )


def test_a_connection_without_a_secret_fails_closed(client, connection, published):
    body, headers = signed(connection, order_event(connection, _order(connection)))
    connection.webhook_secret = ""
    connection.save()

    response = _post(client, connection, body, headers)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_redelivered_event_is_stored_once(client, connection, published):
    body, headers = signed(connection, order_event(connection, _order(connection)))

    answers = [_post(client, connection, body, headers).json() for _ in range(3)]

    assert answers == [
        {"stored": 1, "duplicates": 0},
        {"stored": 0, "duplicates": 1},
        {"stored": 0, "duplicates": 1},
    ]
    assert InboundEvent.objects.count() == 1


def test_a_body_over_the_cap_is_refused(client, connection, published, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 512
    envelope = order_event(connection, _order(connection))
    envelope["padding"] = "x" * 1000
    body, headers = signed(connection, envelope)

    response = _post(client, connection, body, headers)

    assert response.status_code == 413
    assert not InboundEvent.objects.exists()
    assert QuarantinedDelivery.objects.get().body_truncated


def test_a_signed_but_malformed_body_is_refused(client, connection, published):
    body, headers = signed(connection, {"type": "order.updated"})

    response = _post(client, connection, body, headers)

    assert response.status_code == 400
    assert "malformed body" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_an_event_for_another_account_is_refused(client, connection, published):
    envelope = order_event(connection, _order(connection))
    envelope["merchant_id"] = "SOMEONE-ELSE"
    body, headers = signed(connection, envelope)

    response = _post(client, connection, body, headers)

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_unknown_connections_and_platforms_are_not_found(client, connection, published):
    body, headers = signed(connection, order_event(connection, _order(connection)))

    unknown = client.post(
        "/webhooks/pos/square/00000000-0000-0000-0000-000000000000/",
        data=body,
        content_type="application/json",
        headers=headers,
    )
    wrong_platform = client.post(
        f"/webhooks/pos/toast/{connection.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )

    assert unknown.status_code == 404
    assert wrong_platform.status_code == 404
    assert client.get(f"/webhooks/pos/square/{connection.pk}/").status_code == 405


def test_the_app_endpoint_routes_by_merchant_id(client, connection, published, settings):
    settings.PLATFORM_APPS = {
        "square": {
            **settings.PLATFORM_APPS["square"],
            "signing_secret": "our-app-key",
            "notification_url": "https://taxpoynt.example/webhooks/pos/square/",
        }
    }
    envelope = order_event(connection, _order(connection))
    body, headers = signed(
        connection, envelope, key="our-app-key", url="https://taxpoynt.example/webhooks/pos/square/"
    )

    response = client.post(
        "/webhooks/pos/square/", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 200
    assert str(InboundEvent.objects.get().connection_id) == str(connection.pk)

    # A genuine event for an account nobody connected is kept for replay, and acknowledged.
    envelope = order_event(connection, _order(connection))
    envelope["merchant_id"] = "NOT-CONNECTED"
    body, headers = signed(
        connection, envelope, key="our-app-key", url="https://taxpoynt.example/webhooks/pos/square/"
    )
    response = client.post(
        "/webhooks/pos/square/", data=body, content_type="application/json", headers=headers
    )
    assert response.json() == {"stored": 0, "duplicates": 0}
    assert "NOT-CONNECTED" in QuarantinedDelivery.objects.get().reason


def test_the_app_endpoint_fails_closed_without_a_configured_key(client, connection, published):
    body, headers = signed(connection, order_event(connection, _order(connection)))

    response = client.post(
        "/webhooks/pos/square/", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_inactive_connection_keeps_events_until_it_is_activated(client, published):
    connection = square_connection(site_url=SITE)
    events.connection_deactivate(connection=connection)
    body, headers = signed(connection, order_event(connection, _order(connection)))

    assert _post(client, connection, body, headers).status_code == 200
    assert published == []

    connection.refresh_from_db()
    assert events.connection_activate(connection=connection) == 1
    assert published == [(InboundEvent.objects.get().pk, "realtime")]


def test_the_quarantine_is_capped(client, connection, published, settings):
    settings.WEBHOOK_QUARANTINE_CAP = 3
    body, _ = signed(connection, order_event(connection, _order(connection)))
    for _ in range(5):
        _post(client, connection, body, {})
    assert QuarantinedDelivery.objects.count() == 3
