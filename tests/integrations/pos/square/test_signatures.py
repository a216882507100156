"""Square webhook signatures: the B1 matrix, known-answer vectors and generated mutations."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.pos.square.signatures import (
    SIGNATURE_HEADER,
    square_signature,
    square_signature_valid,
)

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
KEY = "taxpoynt-test-signature-key-Kq7w"
URL = "https://taxpoynt.example/webhooks/pos/square/0b6f2c1e-3f4a-4d59-9a57-2e51c8d7a901/"
BODY = (FIXTURES_DIR / "webhook-payment.updated.json").read_bytes()

# Computed once with openssl, independently of the code under test:
#   printf '%s' "$URL$BODY" | openssl dgst -sha256 -hmac "$KEY" -binary | base64
KNOWN_BODY = (
    b'{"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated",'
    b'"event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","data":{"type":"payment",'
    b'"id":"hYy9pRFVxpDsO1FB05SunFWUe9JZY","object":{"payment":{"status":"COMPLETED"}}}}'
)
KNOWN_SIGNATURE = "kurEqsyl2DMhWIcZMXYEC/SvJxvFEBep+s37lEhKcnI="

# Square's own vector, shared by its SDKs' tests (square/square-python-sdk
# tests/utils/test_webhooks_helper.py, and the Ruby, PHP, Java and Node SDKs); openssl agrees.
VENDOR_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f",'
    b'"created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
VENDOR_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
VENDOR_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
VENDOR_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="


def valid(*, key=KEY, url=URL, body=BODY, header):
    return square_signature_valid(
        signature_key=key, notification_url=url, body=body, header_value=header
    )


def signed(body=BODY, *, key=KEY, url=URL):
    return square_signature(signature_key=key, notification_url=url, body=body)


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_header_name_is_squares():
    assert SIGNATURE_HEADER == "x-square-hmacsha256-signature"


def test_known_answer_vector():
    assert signed(KNOWN_BODY) == KNOWN_SIGNATURE
    assert valid(body=KNOWN_BODY, header=KNOWN_SIGNATURE)


def test_square_sdk_vector():
    assert signed(VENDOR_BODY, key=VENDOR_KEY, url=VENDOR_URL) == VENDOR_SIGNATURE
    assert valid(key=VENDOR_KEY, url=VENDOR_URL, body=VENDOR_BODY, header=VENDOR_SIGNATURE)


def test_square_sdk_vector_rejects_a_reformatted_body():
    # The signature covers the raw bytes, so the same JSON pretty-printed does not verify.
    reformatted = VENDOR_BODY.replace(b",", b", ")
    assert not valid(key=VENDOR_KEY, url=VENDOR_URL, body=reformatted, header=VENDOR_SIGNATURE)


GOOD = signed()
# Square's own edge cases; a valid delivery, another key and a missing or empty header are
# every platform's (tests/contracts/test_webhooks.py).
MATRIX = [
    pytest.param({"header": GOOD, "body": flip_bit(BODY, 8 * 40 + 3)}, False, id="body-1-bit"),
    pytest.param({"header": GOOD, "key": ""}, False, id="empty-key"),
    pytest.param({"header": GOOD, "key": None}, False, id="no-key-configured"),
    pytest.param({"header": GOOD, "url": URL.rstrip("/")}, False, id="wrong-url-slash"),
    pytest.param({"header": GOOD, "url": URL.replace("https", "http")}, False, id="wrong-scheme"),
    pytest.param({"header": GOOD, "url": URL + "?x=1"}, False, id="wrong-url-query"),
    pytest.param({"header": GOOD, "url": ""}, False, id="empty-url"),
    pytest.param({"header": GOOD, "body": b""}, False, id="empty-body"),
    pytest.param({"header": signed(b""), "body": b""}, False, id="empty-body-signed"),
    pytest.param({"header": f" {GOOD}"}, False, id="leading-space"),
    pytest.param({"header": f"{GOOD}\n"}, False, id="trailing-newline"),
    pytest.param({"header": GOOD.rstrip("=")}, False, id="unpadded"),
    pytest.param({"header": "not base64 at all!"}, False, id="non-base64"),
    pytest.param({"header": GOOD[:-2] + "é="}, False, id="non-ascii"),
    pytest.param({"header": "\udc80" + GOOD}, False, id="lone-surrogate"),
    pytest.param({"header": GOOD.encode()}, False, id="bytes-header"),
    pytest.param({"header": GOOD.lower()}, False, id="case-changed"),
    pytest.param({"header": "sha256=" + GOOD}, False, id="prefixed"),
    pytest.param({"header": f"{GOOD},{GOOD}"}, False, id="two-signatures"),
    pytest.param({"header": GOOD, "key": "\udc80"}, False, id="surrogate-key"),
    pytest.param({"header": GOOD, "body": BODY.decode()}, False, id="str-body"),
]


@pytest.mark.parametrize(("arguments", "expected"), MATRIX)
def test_signature_matrix(arguments, expected):
    assert valid(**arguments) is expected


def test_signing_refuses_an_empty_key_or_url():
    with pytest.raises(ValueError, match="signature key"):
        signed(key="")
    with pytest.raises(ValueError, match="notification URL"):
        signed(url="")


@settings(max_examples=1000, deadline=None)
@given(bit=st.integers(min_value=0, max_value=8 * len(BODY) - 1))
def test_every_single_bit_flip_is_rejected(bit):
    assert not valid(body=flip_bit(BODY, bit), header=GOOD)


@settings(max_examples=1000, deadline=None)
@given(body=st.binary(max_size=2048))
def test_generated_bodies_are_rejected(body):
    if body != BODY:
        assert not valid(body=body, header=GOOD)


@settings(max_examples=500, deadline=None)
@given(header=st.text(max_size=64))
def test_odd_headers_never_raise(header):
    assert valid(header=header) is (header == GOOD)
