"""Toast webhook signatures: a known answer computed with openssl, and the matrix (valid, a
flipped bit, wrong key, missing header, the timestamp altered, empty body)."""

import base64
import json
from pathlib import Path

import pytest

from integrations.pos.toast.signatures import body_timestamp, toast_signature, toast_signature_valid

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SECRET = "toast-test-secret-Zq4"
# printf '%s' "$BODY$TIMESTAMP" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
KNOWN_BODY = (
    b'{"timestamp":"2024-03-28T15:11:01.050Z","eventCategory":"order_updated",'
    b'"eventType":"order_updated","guid":"e1","details":{"restaurantGuid":"r1",'
    b'"order":{"guid":"o1"}}}'
)
KNOWN_SIGNATURE = "OtCqkOl3CupREOIK1XwRxSZL+WtdaTvCnDr8Vhw27AE="
BODY = (FIXTURES / "webhook-order_updated.json").read_bytes()


def signed(body: bytes = BODY, *, secret: str = SECRET) -> str:
    return toast_signature(secret=secret, body=body, timestamp=body_timestamp(body))


def test_the_known_answer_signs_the_body_then_its_timestamp():
    assert signed(KNOWN_BODY) == KNOWN_SIGNATURE
    assert toast_signature_valid(secret=SECRET, body=KNOWN_BODY, header_value=KNOWN_SIGNATURE)


def test_a_flipped_bit_anywhere_is_refused():
    header = signed()
    for position in (0, len(BODY) // 2, len(BODY) - 1):
        for bit in range(8):
            flipped = bytearray(BODY)
            flipped[position] ^= 1 << bit
            assert not toast_signature_valid(
                secret=SECRET, body=bytes(flipped), header_value=header
            )


def test_a_flipped_bit_of_the_signature_is_refused():
    raw = bytearray(base64.b64decode(signed()))
    raw[5] ^= 1
    assert not toast_signature_valid(
        secret=SECRET, body=BODY, header_value=base64.b64encode(bytes(raw)).decode()
    )


def test_another_key_is_refused():
    assert not toast_signature_valid(secret="another-secret", body=BODY, header_value=signed())


@pytest.mark.parametrize("header", [None, "", "   ", "not base64!", "é", "\ud800"])
def test_a_missing_or_malformed_header_is_refused(header):
    assert not toast_signature_valid(secret=SECRET, body=BODY, header_value=header)


def test_the_timestamp_altered_is_refused_even_re_signed_with_the_old_one():
    envelope = json.loads(BODY)
    original = envelope["timestamp"]
    envelope["timestamp"] = "2026-11-22T18:30:03.123+0000"
    altered = json.dumps(envelope).encode()
    # A signature of the altered body over the original timestamp is not Toast's either.
    forged = toast_signature(secret=SECRET, body=altered, timestamp=original)

    assert not toast_signature_valid(secret=SECRET, body=altered, header_value=signed())
    assert not toast_signature_valid(secret=SECRET, body=altered, header_value=forged)


def test_an_empty_body_is_refused():
    header = toast_signature(secret=SECRET, body=b"", timestamp="")
    assert not toast_signature_valid(secret=SECRET, body=b"", header_value=header)


@pytest.mark.parametrize("body", [b"{}", b"[]", b'{"timestamp": 5}', b"not json"])
def test_a_body_without_a_timestamp_is_signed_over_its_bytes_alone(body):
    header = toast_signature(secret=SECRET, body=body, timestamp="")
    assert toast_signature_valid(secret=SECRET, body=body, header_value=header)
    assert not toast_signature_valid(
        secret=SECRET, body=body, header_value=toast_signature(secret="x", body=body, timestamp="")
    )


def test_an_empty_secret_verifies_nothing():
    assert not toast_signature_valid(secret="", body=BODY, header_value=signed())
    with pytest.raises(ValueError):
        toast_signature(secret="", body=BODY, timestamp="x")
