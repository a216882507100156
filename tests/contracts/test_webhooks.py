"""A platform with webhooks: its sample deliveries parse into events; its signature check accepts
the valid delivery and refuses a flipped bit, another key, a missing or malformed header and
another URL, never raising; malformed bodies are MappingErrors; and reading an event's subject
at intake never raises, whatever the event holds."""

import copy
import json
from collections.abc import Iterator

import pytest

from integrations.base.connectors import Capability, WebhookEvent
from integrations.base.errors import MappingError

CAPABILITY = Capability.WEBHOOKS
MALFORMED_BODIES = (
    b"",
    b"{",
    b"null",
    b"[]",
    b"42",
    b'"text"',
    b"\xff\xfe\x00",
    b'{"unexpected": true}',
    b"[1, 2]",
    b'[{"eventId": null}]',
    b'{"data": "not an object"}',
)
ODD_VALUES = (None, "", 0, -1, 1.5, True, [], {}, "x", [None], {"": None})
MALFORMED_HEADER_VALUES = ("", " ", "x", "=", "not-base64!!", "é", "a" * 5000, "0")


def _verified(connector, delivery, **changes) -> bool:
    arguments = {
        "headers": dict(delivery.headers),
        "body": delivery.body,
        "secret": delivery.secret,
        "url": delivery.url,
        "method": delivery.method,
        **changes,
    }
    return connector.verify_webhook(**arguments)


# --- samples ------------------------------------------------------------------------------------


def test_every_sample_delivery_parses_into_events(platform, connector, contract):
    samples = contract.webhook_samples()
    assert samples, f"{platform} gives no webhook samples"
    for name, body in samples.items():
        events = list(connector.parse_webhook(body))

        assert events, name
        for event in events:
            assert isinstance(event, WebhookEvent), name
            assert event.event_id and event.event_type, name
            assert isinstance(connector.event_needs_processing(event), bool), name
            assert isinstance(connector.event_subject(event), str), name


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_a_malformed_body_is_a_mapping_error_or_no_events(connector, body):
    try:
        events = list(connector.parse_webhook(body))
    except MappingError:
        return
    assert all(isinstance(event, WebhookEvent) for event in events)


# --- signatures ---------------------------------------------------------------------------------


def test_the_valid_delivery_is_accepted(connector, contract):
    assert _verified(connector, contract.signed_delivery()) is True


def test_every_flipped_bit_of_a_bodys_first_middle_and_last_byte_is_refused(connector, contract):
    if not connector.webhook_signs_body:
        pytest.skip("the platform's credentials do not cover the body")
    delivery = contract.signed_delivery()
    body = delivery.body
    for position in sorted({0, len(body) // 2, len(body) - 1}):
        for bit in range(8):
            flipped = bytearray(body)
            flipped[position] ^= 1 << bit
            assert _verified(connector, delivery, body=bytes(flipped)) is False, (position, bit)


def test_a_delivery_signed_with_another_key_is_refused(connector, contract):
    delivery = contract.signed_delivery()

    assert _verified(connector, delivery, secret=delivery.secret + "-other") is False
    assert _verified(connector, delivery, secret=delivery.secret[:-1]) is False


def test_a_delivery_for_another_url_is_refused(connector, contract):
    if not connector.webhook_signs_url:
        pytest.skip(f"{connector.display_name} signs the body alone")
    delivery = contract.signed_delivery()

    assert _verified(connector, delivery, url=delivery.url + "other/") is False


def test_a_delivery_missing_any_signature_header_is_refused(connector, contract):
    delivery = contract.signed_delivery()
    assert delivery.headers, "the signed delivery names its signature headers"
    for name in delivery.headers:
        headers = {key: value for key, value in delivery.headers.items() if key != name}
        assert _verified(connector, delivery, headers=headers) is False, name
    assert _verified(connector, delivery, headers={}) is False


def test_malformed_signature_headers_are_refused_without_raising(connector, contract):
    delivery = contract.signed_delivery()
    for name, valid in delivery.headers.items():
        flipped = valid[:-1] + ("A" if valid[-1] != "A" else "B")
        for value in (*MALFORMED_HEADER_VALUES, flipped, valid + valid):
            headers = {**delivery.headers, name: value}
            assert _verified(connector, delivery, headers=headers) is False, (name, value)


def test_an_empty_key_verifies_nothing(connector, contract):
    delivery = contract.signed_delivery()
    try:
        accepted = _verified(connector, delivery, secret="")
    except ValueError:
        return  # refusing to check against no key at all is as good
    assert accepted is False


# --- subjects read at intake ----------------------------------------------------------------------


def _mutations(payload) -> Iterator[object]:
    """The payload with each value in turn (every depth) replaced by each odd value, and the
    odd values themselves as the whole payload."""
    yield from ({"data": value} for value in ODD_VALUES)
    yield {}

    def paths(node, prefix=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield (*prefix, key)
                yield from paths(value, (*prefix, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield (*prefix, index)
                yield from paths(value, (*prefix, index))

    for path in list(paths(payload)):
        for value in ODD_VALUES:
            mutated = copy.deepcopy(payload)
            node = mutated
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
            yield mutated


def test_reading_an_events_subject_never_raises_on_a_malformed_event(connector, contract):
    checked = 0
    for body in contract.webhook_samples().values():
        for event in connector.parse_webhook(body):
            for payload in _mutations(json.loads(json.dumps(event.payload))):
                odd = WebhookEvent(
                    event_id=event.event_id,
                    event_type=event.event_type,
                    account_id=event.account_id,
                    object_id=event.object_id,
                    payload=payload,
                )
                assert isinstance(connector.event_subject(odd), str)
                assert isinstance(connector.event_needs_processing(odd), bool)
                checked += 1
    assert checked
