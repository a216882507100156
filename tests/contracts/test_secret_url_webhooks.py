"""A platform whose webhooks are unsigned, its secret in the endpoint's path: the samples parse
into events, malformed bodies are MappingErrors, the secret check refuses anything but the
connection's own secret without raising, and the endpoint stores a delivery to the right URL
(once, however often it comes) while a wrong secret or connection answers 404 and keeps
nothing, not even in quarantine."""

import pytest

from integrations.base import families
from integrations.base.connectors import Capability, WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.models import InboundEvent, QuarantinedDelivery
from tests.contracts.test_webhooks import MALFORMED_BODIES

CAPABILITY = Capability.SECRET_URL_WEBHOOKS
SITE = "http://testserver"
SECRET = "k" * 43


@pytest.fixture
def published(connector, monkeypatch):
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
def body(contract, connection):
    return contract.webhook_body(contract.webhook_events(connection))


def _answered(connector, response, *, stored: int, duplicates: int) -> bool:
    """Whether an accepted delivery's answer says so: our JSON counts, or the platform's own
    acknowledgement where it needs one (``delivery_answer``)."""
    own = connector.delivery_answer(accepted=True)
    if own is None:
        return response.json() == {"stored": stored, "duplicates": duplicates}
    return response["Content-Type"] == own[0] and response.content == own[1]


def _post(client, connection, body, *, secret=None):
    secret = connection.webhook_secret if secret is None else secret
    return client.post(
        f"/webhooks/{connection.family}/{connection.platform}/{connection.pk}/{secret}/",
        data=body,
        content_type="application/json",
    )


def test_every_sample_delivery_parses_into_events(platform, connector, contract):
    samples = contract.webhook_samples()
    assert samples, f"{platform} gives no webhook samples"
    for name, sample in samples.items():
        events = list(connector.parse_webhook(sample))

        assert events, name
        for event in events:
            assert isinstance(event, WebhookEvent) and event.event_id and event.event_type, name
            assert isinstance(connector.event_needs_processing(event), bool), name


@pytest.mark.parametrize("malformed", MALFORMED_BODIES)
def test_a_malformed_body_is_a_mapping_error_or_no_events(connector, malformed):
    try:
        events = list(connector.parse_webhook(malformed))
    except MappingError:
        return
    assert all(isinstance(event, WebhookEvent) for event in events)


@pytest.mark.parametrize(
    "presented",
    ["", SECRET[:-1], SECRET + "k", "K" * 43, SECRET.upper(), "é" * 43, "\x00" * 43],
)
def test_only_the_connections_own_secret_is_valid(connector, presented):
    assert connector.url_secret_valid(presented=SECRET, secret=SECRET) is True
    assert connector.url_secret_valid(presented=presented, secret=SECRET) is False


def test_an_empty_or_short_secret_matches_nothing(connector):
    assert connector.url_secret_valid(presented="", secret="") is False
    assert connector.url_secret_valid(presented="short", secret="short") is False


def test_the_connections_secret_has_at_least_128_bits(connection):
    # URL-safe base64 carries 6 bits a character.
    assert len(connection.webhook_secret) * 6 >= 128
    assert connection.webhook_url.endswith(f"/{connection.webhook_secret}/")


def test_a_delivery_to_the_secret_url_is_stored_then_queued_on_commit(
    client, connector, connection, body, published
):
    response = _post(client, connection, body)

    assert response.status_code == 200
    assert _answered(connector, response, stored=1, duplicates=0)
    row = InboundEvent.objects.get()
    assert (str(row.connection_id), row.status) == (str(connection.pk), "pending")
    assert published == []


def test_a_redelivery_is_stored_once(client, connector, connection, body, published):
    answers = [_post(client, connection, body) for _ in range(3)]

    assert all(_answered(connector, answer, stored=0, duplicates=1) for answer in answers[1:])
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize("wrong", ["another-secret-of-enough-length-000000000", "x", "%00"])
def test_a_wrong_secret_is_not_found_and_keeps_nothing(client, connection, body, published, wrong):
    response = _post(client, connection, body, secret=wrong)

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()
    assert not QuarantinedDelivery.objects.exists()


def test_an_unknown_connection_is_not_found_and_keeps_nothing(client, connection, body, published):
    response = client.post(
        f"/webhooks/{connection.family}/{connection.platform}/"
        f"00000000-0000-0000-0000-000000000000/{connection.webhook_secret}/",
        data=body,
        content_type="application/json",
    )

    assert response.status_code == 404
    assert not InboundEvent.objects.exists() and not QuarantinedDelivery.objects.exists()


def test_the_signed_endpoint_refuses_the_platform(client, connection, body, published):
    response = client.post(
        f"/webhooks/{connection.family}/{connection.platform}/{connection.pk}/",
        data=body,
        content_type="application/json",
    )

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


def test_a_body_over_the_cap_is_refused(client, connection, body, published, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = len(body) - 1

    assert _post(client, connection, body).status_code == 413
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("malformed", [b"not json", b"{", b"null", b"[]"])
def test_a_malformed_body_to_the_right_url_is_refused(client, connection, published, malformed):
    assert _post(client, connection, malformed).status_code == 400
    assert not InboundEvent.objects.exists()
