"""Square's own side of the webhook endpoints: what a stored event keeps of its sale, and the
events that need no work. What every platform's endpoints do (signatures, storing, queueing,
deduplication, quarantine, the app endpoint) is in tests/contracts/test_webhook_intake.py."""

import pytest

from integrations.base.models import InboundEvent
from integrations.base.tasks import family_tasks
from tests.integrations.pos.support import order_event, signed, square_connection

event_process_task = family_tasks("pos").process_event

SITE = "http://testserver"


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


@pytest.mark.django_db
def test_a_stored_event_names_the_sale_it_is_about(client, published):
    connection = square_connection(site_url=SITE)
    envelope = order_event(connection, _order(connection), event_id="evt-1")
    body, headers = signed(connection, envelope)

    assert _post(client, connection, body, headers).status_code == 200

    event = InboundEvent.objects.get()
    assert (event.event_id, event.event_type, event.status) == ("evt-1", "order.updated", "pending")
    # So that the event working on the sale can settle this one.
    assert event.subject_id == "ORDER-1"


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
