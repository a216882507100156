"""The webhook endpoints, the same for every platform with webhooks: a delivery's signature is
checked on its raw bytes before anything is stored, its events are stored before the 2xx (and
queued on the family's queue once committed) and deduplicated, refused deliveries are
quarantined without their signatures, and the app endpoint routes by the platform's account."""

import pytest

from integrations.base import events as event_services
from integrations.base import families
from integrations.base.connectors import Capability
from integrations.base.models import InboundEvent, QuarantinedDelivery

CAPABILITY = Capability.WEBHOOKS
SITE = "http://testserver"
OTHER_ACCOUNT = "99"


@pytest.fixture
def published(connector, monkeypatch):
    """(event id, queue) handed to the family's queue (the publish itself is not under test)."""
    sent = []
    task = families.get(connector.family).tasks.process_event
    monkeypatch.setattr(
        task,
        "apply_async",
        lambda *, kwargs, queue, countdown=None: sent.append((kwargs["event_id"], queue)),
    )
    return sent


@pytest.fixture
def connection(contract, db):
    return contract.webhook_connection(site_url=SITE)


@pytest.fixture
def delivery(contract, connection):
    """(events, body, headers) of a valid delivery to the connection's endpoint."""
    events = contract.webhook_events(connection)
    body = contract.webhook_body(events)
    return events, body, contract.webhook_sign(connection, body)


def _post(client, connection, body, headers):
    return client.post(
        f"/webhooks/{connection.family}/{connection.platform}/{connection.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def _app_url(connector) -> str:
    return f"{SITE}/webhooks/{connector.family}/{connector.key}/"


def test_a_signed_delivery_is_stored_then_queued(
    client, connector, connection, delivery, published
):
    events, body, headers = delivery

    response = _post(client, connection, body, headers)

    assert response.status_code == 200
    assert response.json() == {"stored": len(events), "duplicates": 0}
    rows = list(InboundEvent.objects.order_by("id"))
    assert [row.payload for row in rows] == events
    assert all(row.status == "pending" and row.family == connector.family for row in rows)
    assert {str(row.connection_id) for row in rows} == {str(connection.pk)}
    # Queued on commit only: this test's transaction never commits.
    assert published == []


@pytest.mark.django_db(transaction=True)
def test_the_events_are_queued_on_the_familys_queue_once_committed(
    client, connector, contract, published
):
    connection = contract.webhook_connection(site_url=SITE)
    body = contract.webhook_body(contract.webhook_events(connection))

    assert _post(client, connection, body, contract.webhook_sign(connection, body)).status_code == (
        200
    )

    queue = families.get(connector.family).queue
    assert published == [(row.pk, queue) for row in InboundEvent.objects.order_by("id")]


def _flip_one_bit(body: bytes) -> bytes:
    flipped = bytearray(body)
    flipped[len(flipped) // 2] ^= 0x01
    return bytes(flipped)


REFUSALS = {
    "one bit flipped in the body": lambda f, c, body: (
        _flip_one_bit(body),
        f.webhook_sign(c, body),
    ),
    "signed with another key": lambda f, c, body: (body, f.webhook_sign(c, body, secret="other")),
    "signed for another URL": lambda f, c, body: (
        body,
        f.webhook_sign(c, body, url="https://attacker.example/webhooks/"),
    ),
    "no signature headers": lambda f, c, body: (body, {}),
    "garbage signatures": lambda f, c, body: (
        body,
        {name: "x" * 44 for name in f.webhook_sign(c, body)},
    ),
    "an empty body": lambda f, c, body: (b"", f.webhook_sign(c, body)),
}
# The refusals only a check covering the body's bytes makes.
BODY_REFUSALS = frozenset({"one bit flipped in the body", "an empty body"})


@pytest.mark.parametrize("refusal", REFUSALS)
def test_only_a_valid_signature_is_accepted(
    client, connector, contract, connection, published, refusal
):
    if refusal in BODY_REFUSALS and not connector.webhook_signs_body:
        pytest.skip("the platform's credentials do not cover the body")
    if refusal == "signed for another URL" and not connector.webhook_signs_url:
        pytest.skip("the platform signs the body alone")
    body = contract.webhook_body(contract.webhook_events(connection))
    body, headers = REFUSALS[refusal](contract, connection, body)

    response = _post(client, connection, body, headers)

    assert response.status_code == 401
    assert response.json() == {"error": "bad signature"}
    assert not InboundEvent.objects.exists()
    quarantined = QuarantinedDelivery.objects.get()
    assert (quarantined.reason, bytes(quarantined.body)) == ("bad signature", body)
    # The signature itself is not kept.
    assert all(
        value == "(withheld)" for name, value in quarantined.headers.items() if "ignature" in name
    )


def test_a_connection_without_a_secret_fails_closed(client, connection, delivery, published):
    _events, body, headers = delivery
    connection.webhook_secret = ""
    connection.save()

    assert _post(client, connection, body, headers).status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_redelivery_is_stored_once(client, connection, delivery, published):
    events, body, headers = delivery

    answers = [_post(client, connection, body, headers).json() for _ in range(3)]

    assert answers == [
        {"stored": len(events), "duplicates": 0},
        {"stored": 0, "duplicates": len(events)},
        {"stored": 0, "duplicates": len(events)},
    ]
    assert InboundEvent.objects.count() == len(events)


def test_a_body_over_the_cap_is_refused(client, connection, delivery, published, settings):
    _events, body, headers = delivery
    settings.WEBHOOK_MAX_BODY_BYTES = len(body) - 1

    response = _post(client, connection, body, headers)

    assert response.status_code == 413
    assert not InboundEvent.objects.exists()
    assert QuarantinedDelivery.objects.get().body_truncated


@pytest.mark.parametrize("body", [b"not json", b"{", b"null"])
def test_a_signed_but_malformed_body_is_refused(client, contract, connection, published, body):
    response = _post(client, connection, body, contract.webhook_sign(connection, body))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_an_event_for_another_account_is_refused(client, contract, connection, published):
    body = contract.webhook_body(contract.webhook_events(connection, account_id=OTHER_ACCOUNT))

    response = _post(client, connection, body, contract.webhook_sign(connection, body))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_unknown_connections_and_platforms_are_not_found(client, connection, delivery, published):
    _events, body, headers = delivery
    family, platform = connection.family, connection.platform

    unknown = client.post(
        f"/webhooks/{family}/{platform}/00000000-0000-0000-0000-000000000000/",
        data=body,
        content_type="application/json",
        headers=headers,
    )
    wrong_platform = client.post(
        f"/webhooks/{family}/not-a-platform/{connection.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )

    assert unknown.status_code == 404
    assert wrong_platform.status_code == 404
    assert client.get(f"/webhooks/{family}/{platform}/{connection.pk}/").status_code == 405


def test_the_app_endpoint_routes_by_the_platforms_account(
    client, connector, contract, connection, published, settings
):
    url = _app_url(connector)
    contract.app_webhook_settings(settings, secret="our-app-key", url=url)
    events = contract.webhook_events(connection)
    body = contract.webhook_body(events)

    response = client.post(
        url,
        data=body,
        content_type="application/json",
        headers=contract.webhook_sign(connection, body, secret="our-app-key", url=url),
    )

    assert response.json() == {"stored": len(events), "duplicates": 0}
    assert {str(row.connection_id) for row in InboundEvent.objects.all()} == {str(connection.pk)}

    # A genuine event for an account nobody connected is kept for replay, and acknowledged.
    body = contract.webhook_body(contract.webhook_events(connection, account_id=OTHER_ACCOUNT))
    response = client.post(
        url,
        data=body,
        content_type="application/json",
        headers=contract.webhook_sign(connection, body, secret="our-app-key", url=url),
    )
    assert response.json() == {"stored": 0, "duplicates": 0}
    assert OTHER_ACCOUNT in QuarantinedDelivery.objects.get().reason


def test_the_app_endpoint_fails_closed_without_a_configured_key(
    client, connector, contract, connection, published
):
    body = contract.webhook_body(contract.webhook_events(connection))
    headers = contract.webhook_sign(connection, body, url=_app_url(connector))

    response = client.post(
        _app_url(connector), data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_inactive_connection_keeps_events_until_it_is_activated(client, contract, published):
    connection = contract.webhook_connection(site_url=SITE)
    event_services.connection_deactivate(connection=connection)
    events = contract.webhook_events(connection)
    body = contract.webhook_body(events)

    assert _post(client, connection, body, contract.webhook_sign(connection, body)).status_code == (
        200
    )
    assert published == []

    connection.refresh_from_db()
    assert event_services.connection_activate(connection=connection) == len(events)
    assert sorted(pk for pk, _queue in published) == sorted(
        InboundEvent.objects.values_list("pk", flat=True)
    )


def test_the_quarantine_is_capped(client, connection, delivery, published, settings):
    settings.WEBHOOK_QUARANTINE_CAP = 3
    _events, body, _headers = delivery
    for _ in range(5):
        _post(client, connection, body, {})
    assert QuarantinedDelivery.objects.count() == 3
