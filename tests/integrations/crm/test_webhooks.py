"""HubSpot's own side of the webhook endpoints: its signature versions and replay window, events
deduplicated on their composite key, the wait that lets a burst about one deal cost one fetch,
and the changes that need no work. What every platform's endpoints do is in
tests/contracts/test_webhook_intake.py."""

from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import events as event_services
from integrations.base import pipeline
from integrations.base.models import InboundEvent, QuarantinedDelivery
from integrations.base.tasks import family_tasks
from integrations.crm.hubspot.signatures import hubspot_signed_headers
from integrations.crm.models import CRMDeal
from tests.integrations.crm.support import (
    deal_event,
    hubspot_connection,
    portal_of,
    sandbox_deal,
    signed,
)

event_process_task = family_tasks("crm").process_event

SITE = "http://testserver"


@pytest.fixture
def connection(db):
    return hubspot_connection(site_url=SITE)


@pytest.fixture
def published(monkeypatch):
    """Event ids handed to the standard queue (the publish itself is not under test here)."""
    sent = []
    monkeypatch.setattr(
        event_process_task,
        "apply_async",
        lambda *, kwargs, queue, countdown=None: sent.append((kwargs["event_id"], queue)),
    )
    return sent


@pytest.fixture
def events(connection):
    deal = sandbox_deal(connection)
    return [
        deal_event(connection, deal, "deal.creation"),
        deal_event(connection, deal, "deal.propertyChange", stage="closedwon"),
    ]


def _post(client, connection, body, headers):
    return client.post(
        f"/webhooks/crm/hubspot/{connection.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_the_sandbox_connection_checks_the_key_its_account_signs_with(connection):
    assert connection.webhook_secret == portal_of(connection).client_secret
    assert connection.notification_url == f"{SITE}/webhooks/crm/hubspot/{connection.pk}/"
    assert connection.won_stage_ids == ["closedwon"]


def _flip_one_bit(body: bytes) -> bytes:
    flipped = bytearray(body)
    flipped[len(flipped) // 2] ^= 0x01
    return bytes(flipped)


def _minus(seconds):
    return datetime.now(UTC) - timedelta(seconds=seconds)


# HubSpot's own refusals; those of every platform are in tests/contracts/test_webhook_intake.py.
B1_CASES = {
    "v3: 301 s old": lambda c, events: signed(c, events, at=_minus(301)),
    "v3: 301 s ahead": lambda c, events: signed(c, events, at=_minus(-301)),
    "v2: signed with another secret": lambda c, events: signed(
        c, events, version="v2", secret="not-the-key"
    ),
    "v1: one bit flipped in the body": lambda c, events: (
        _flip_one_bit(signed(c, events, version="v1")[0]),
        signed(c, events, version="v1")[1],
    ),
}


@pytest.mark.django_db(transaction=True)
def test_events_wait_a_moment_so_that_a_burst_about_one_deal_costs_one_fetch(client, monkeypatch):
    delays = []
    monkeypatch.setattr(
        event_process_task,
        "apply_async",
        lambda *, kwargs, queue, countdown=None: delays.append(countdown),
    )
    connection = hubspot_connection(site_url=SITE)
    deal = sandbox_deal(connection)
    body, headers = signed(connection, [deal_event(connection, deal, "deal.creation")])

    assert _post(client, connection, body, headers).status_code == 200

    assert delays == [3.0]


@pytest.mark.django_db(transaction=True)
def test_a_change_that_cannot_touch_invoicing_is_kept_as_ignored_and_not_queued(client, published):
    connection = hubspot_connection(site_url=SITE)
    deal = sandbox_deal(connection)
    renamed = {**deal_event(connection, deal, "deal.propertyChange"), "propertyName": "dealname"}
    renamed.pop("changeFlag")
    moved = deal_event(connection, deal, "deal.propertyChange", stage="closedwon")
    body, headers = signed(connection, [renamed, moved])

    assert _post(client, connection, body, headers).json() == {"stored": 2, "duplicates": 0}

    kept = {row.payload["eventId"]: row for row in InboundEvent.objects.all()}
    assert kept[renamed["eventId"]].status == "ignored"
    assert kept[moved["eventId"]].status == "pending"
    assert published == [(kept[moved["eventId"]].pk, "standard")]


@pytest.mark.parametrize("case", B1_CASES)
def test_a_stale_or_old_version_signature_is_refused(client, connection, events, published, case):
    body, headers = B1_CASES[case](connection, events)

    response = _post(client, connection, body, headers)

    assert response.status_code == 401
    assert response.json() == {"error": "bad signature"}
    assert not InboundEvent.objects.exists()
    quarantined = QuarantinedDelivery.objects.get()
    assert (quarantined.reason, bytes(quarantined.body)) == ("bad signature", body)
    # Signatures are not kept.
    assert all(
        value == "(withheld)" for name, value in quarantined.headers.items() if "ignature" in name
    )


@pytest.mark.parametrize(
    ("version", "seconds_old"),
    [("v3", 299), ("v3", -299), ("v2", None), ("v1", None)],
    ids=["v3 299 s old", "v3 299 s ahead", "v2", "v1"],
)
def test_every_signature_version_hubspot_sends_is_accepted(
    client, connection, events, published, version, seconds_old
):
    at = _minus(seconds_old) if seconds_old is not None else None
    body, headers = signed(connection, events, version=version, at=at)

    assert _post(client, connection, body, headers).json() == {"stored": 2, "duplicates": 0}


def test_events_are_deduplicated_on_their_composite_key(client, connection, events, published):
    body, headers = signed(connection, events)
    assert _post(client, connection, body, headers).json() == {"stored": 2, "duplicates": 0}

    # HubSpot's retry: the same events, attemptNumber + 1.
    retried = [{**event, "attemptNumber": 1} for event in events]
    body, headers = signed(connection, retried)
    assert _post(client, connection, body, headers).json() == {"stored": 0, "duplicates": 2}

    # Another subscription reusing an eventId is another event.
    reused = {**events[1], "eventId": events[0]["eventId"], "propertyValue": "closedlost"}
    body, headers = signed(connection, [reused])
    assert _post(client, connection, body, headers).json() == {"stored": 1, "duplicates": 0}
    assert InboundEvent.objects.count() == 3


@pytest.mark.parametrize("body", [b'{"eventId": 1}', b"[]"])
def test_a_signed_but_malformed_body_is_refused(client, connection, published, body):
    headers = hubspot_signed_headers(
        secret=connection.webhook_secret, method="POST", uri=connection.notification_url, body=body
    )

    response = _post(client, connection, body, headers)

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_inactive_connections_event_waits_and_makes_no_deal(client, published):
    connection = hubspot_connection(site_url=SITE)
    event_services.connection_deactivate(connection=connection)
    deal = sandbox_deal(connection)
    body, headers = signed(connection, [deal_event(connection, deal, "deal.creation")])

    assert _post(client, connection, body, headers).status_code == 200
    assert published == []
    assert pipeline.event_process(family="crm", event_id=InboundEvent.objects.get().pk) == (
        "waiting for an active connection"
    )

    connection.refresh_from_db()
    assert event_services.connection_activate(connection=connection) == 1
    assert published == [(InboundEvent.objects.get().pk, "standard")]
    assert not CRMDeal.objects.exists()
