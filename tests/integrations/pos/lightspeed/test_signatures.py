"""Lightspeed webhook signatures: known-answer vectors (openssl), the refusal matrix, and the
decoded-payload variant only where it is allowed."""

import base64
import hashlib
import hmac
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.pos.lightspeed.signatures import (
    SIGNATURE_HEADER,
    lightspeed_signature,
    lightspeed_signature_match,
)
from tests.integrations.pos.lightspeed.support import FIXTURES, sample

SECRET = "sample-lightspeed-client-secret"
BODY = (FIXTURES / "xseries-webhook-sale.update.form-body.txt").read_bytes()
# printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"
KNOWN_HEX = "d97c9adef2bdfcc8e7820eeeead3c5ff08e9fddf23f9bf41e98de292411bd077"
# printf '%s' 'payload=%7B%22id%22%3A%22s1%22%7D' | openssl dgst -sha256 -hmac k   (raw body)
# printf '%s' '{"id":"s1"}' | openssl dgst -sha256 -hmac k                          (payload)
SMALL_BODY = b"payload=%7B%22id%22%3A%22s1%22%7D"
SMALL_RAW = "f2daafa01807295573dbecb77471d5de9df62e23cf93f3e4dc72bf26b243d006"
SMALL_PAYLOAD = "e172b71563c6559ad1a910a26aebb200f27cc9e41fb9a3e8c439cbea3628478a"


def header(signature: str, algorithm: str = "HMAC-SHA256") -> str:
    return f"signature={signature},algorithm={algorithm}"


def match(header_value, *, body=BODY, secret=SECRET, decoded_payload=False) -> str:
    return lightspeed_signature_match(
        secret=secret, body=body, header_value=header_value, decoded_payload=decoded_payload
    )


def test_the_sample_header_is_the_hex_hmac_of_the_raw_body():
    assert SIGNATURE_HEADER == "X-Signature"
    assert lightspeed_signature(secret=SECRET, body=BODY) == header(KNOWN_HEX)
    assert sample("xseries-webhook-sale.update.headers.json")[SIGNATURE_HEADER] == header(KNOWN_HEX)
    assert match(header(KNOWN_HEX)) == "raw body"


def test_upper_case_hex_base64_and_spaces_after_the_comma_are_the_same_signature():
    digest = bytes.fromhex(KNOWN_HEX)
    assert match(header(KNOWN_HEX.upper())) == "raw body"
    assert match(header(base64.b64encode(digest).decode())) == "raw body"
    assert match(f"signature={KNOWN_HEX}, algorithm=HMAC-SHA256") == "raw body"
    assert match(f"algorithm=HMAC-SHA256,signature={KNOWN_HEX}") == "raw body"


def test_the_decoded_payload_is_accepted_only_where_allowed_and_logged(caplog):
    caplog.set_level(logging.INFO, logger="integrations.pos.lightspeed.signatures")

    assert match(header(SMALL_RAW), body=SMALL_BODY, secret="k") == "raw body"
    assert match(header(SMALL_PAYLOAD), body=SMALL_BODY, secret="k") == ""
    assert match(header(SMALL_PAYLOAD), body=SMALL_BODY, secret="k", decoded_payload=True) == (
        "decoded payload"
    )
    assert "matched the decoded payload" in caplog.text


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        KNOWN_HEX,
        header(KNOWN_HEX, algorithm="HMAC-SHA1"),
        header(KNOWN_HEX, algorithm=""),
        f"signature={KNOWN_HEX}",
        f"signature={KNOWN_HEX},algorithm=HMAC-SHA256,extra=1",
        f"signature={KNOWN_HEX},signature={KNOWN_HEX},algorithm=HMAC-SHA256",
        header(""),
        header(KNOWN_HEX[:-1]),
        header(KNOWN_HEX + "00"),
        header("é" + KNOWN_HEX[1:]),
        header("0" * 64),
        header(KNOWN_HEX) + "x" * 600,
    ],
)
def test_malformed_missing_and_wrong_headers_are_refused(value):
    assert match(value) == ""


def test_another_secret_an_empty_secret_or_body_and_a_changed_body_are_refused():
    assert match(header(KNOWN_HEX), secret="another-secret") == ""
    assert match(header(KNOWN_HEX), secret="") == ""
    assert match(header(KNOWN_HEX), body=b"") == ""
    assert match(header(KNOWN_HEX), body=BODY + b"&x=1") == ""
    assert match(header(KNOWN_HEX), secret="\ud800") == ""
    with pytest.raises(ValueError):
        lightspeed_signature(secret="", body=BODY)


def test_a_decoded_payload_variant_needs_exactly_one_payload():
    empty = hmac.new(b"k", b"", hashlib.sha256).hexdigest()
    for body in (b"type=sale.update", b"payload=&x=1", b"payload=a&payload=b", b"\xff"):
        assert match(header(empty), body=body, secret="k", decoded_payload=True) == ""


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(min_value=0, max_value=len(BODY) * 8 - 1))
def test_every_flipped_bit_of_the_body_is_refused(bit):
    flipped = bytearray(BODY)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert match(header(KNOWN_HEX), body=bytes(flipped), decoded_payload=True) == ""
