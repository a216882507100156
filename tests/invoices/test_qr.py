import base64
import json
import struct
import zlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from invoices.qr import (
    crypto_keys_parse,
    firs_public_key_load,
    qr_png,
    qr_stamp_make,
    qr_stamp_plaintext,
    qr_svg,
)

IRN = "INV2026011401-A7K3Q9ZD-20260114"
# The shape of the certificate string in FIRS's crypto_keys.txt (a short base64 string).
CERTIFICATE = "VVhrallFNVZUdDV0eUJmYWV1RmYwUXJRNEhTdXlhcU1pOGZsWF35sfhWRT0="
STAMPED_AT = datetime(2026, 1, 14, 9, 42, 18, tzinfo=UTC)


@pytest.fixture(scope="module")
def firs_private_key():
    """Stands in for FIRS: only the holder of the private key can read a stamp."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def public_key_pem(firs_private_key) -> str:
    public_key = firs_private_key.public_key()
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def stamp_read(stamp: str, private_key) -> dict:
    return json.loads(private_key.decrypt(base64.b64decode(stamp), PKCS1v15()))


def test_stamp_decrypts_to_irn_with_timestamp_and_certificate(firs_private_key, public_key_pem):
    stamp = qr_stamp_make(
        irn=IRN, certificate=CERTIFICATE, public_key=public_key_pem, stamped_at=STAMPED_AT
    )

    assert stamp_read(stamp, firs_private_key) == {
        "irn": f"{IRN}.{int(STAMPED_AT.timestamp())}",
        "certificate": CERTIFICATE,
    }


def test_plaintext_is_compact_json():
    plaintext = qr_stamp_plaintext(irn=IRN, certificate=CERTIFICATE, stamped_at=STAMPED_AT)

    assert plaintext == (
        b'{"irn":"INV2026011401-A7K3Q9ZD-20260114.1768383738",'
        b'"certificate":"' + CERTIFICATE.encode() + b'"}'
    )


def test_padding_is_random_so_each_stamp_differs(firs_private_key, public_key_pem):
    stamps = {
        qr_stamp_make(
            irn=IRN, certificate=CERTIFICATE, public_key=public_key_pem, stamped_at=STAMPED_AT
        )
        for _ in range(3)
    }

    assert len(stamps) == 3
    assert {stamp_read(stamp, firs_private_key)["irn"] for stamp in stamps} == {f"{IRN}.1768383738"}


@pytest.mark.parametrize("encoding", ["base64 of PEM", "base64 of DER"])
def test_key_stored_as_base64_is_accepted(firs_private_key, public_key_pem, encoding):
    public_key = firs_private_key.public_key()
    raw = (
        public_key_pem.encode()
        if encoding == "base64 of PEM"
        else public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )

    stamp = qr_stamp_make(
        irn=IRN,
        certificate=CERTIFICATE,
        public_key=base64.b64encode(raw).decode(),
        stamped_at=STAMPED_AT,
    )

    assert stamp_read(stamp, firs_private_key)["certificate"] == CERTIFICATE


def test_key_that_is_not_rsa_is_refused():
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = ec_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    with pytest.raises(ValueError, match="not an RSA key"):
        firs_public_key_load(pem)


def test_key_that_is_not_a_key_is_refused():
    with pytest.raises(ValueError, match="neither PEM nor base64"):
        firs_public_key_load("not a key!")


def test_naive_time_is_refused(public_key_pem):
    with pytest.raises(ValueError, match="timezone-aware"):
        qr_stamp_make(
            irn=IRN,
            certificate=CERTIFICATE,
            public_key=public_key_pem,
            stamped_at=datetime(2026, 1, 14, 9, 42, 18),
        )


def test_stamp_too_long_for_one_rsa_block_is_refused(public_key_pem):
    with pytest.raises(ValueError, match="encrypts at most 245"):
        qr_stamp_make(
            irn=IRN, certificate="A" * 400, public_key=public_key_pem, stamped_at=STAMPED_AT
        )


def test_crypto_keys_file_splits_into_key_and_certificate(public_key_pem):
    text = f"{public_key_pem}\n{CERTIFICATE[:30]}\n{CERTIFICATE[30:]}\n"

    keys = crypto_keys_parse(text)

    assert keys.public_key_pem == public_key_pem.strip()
    assert keys.certificate == CERTIFICATE
    firs_public_key_load(keys.public_key_pem)


@pytest.mark.parametrize(
    ("text", "message_part"),
    [("just a certificate", "no -----BEGIN PUBLIC KEY-----"), ("KEY", "no certificate")],
)
def test_crypto_keys_file_without_both_parts_is_refused(public_key_pem, text, message_part):
    with pytest.raises(ValueError, match=message_part):
        crypto_keys_parse(text.replace("KEY", public_key_pem))


def png_pixels(png: bytes) -> tuple[int, list[list[int]]]:
    """Decode the 1-bit greyscale PNG qr_png writes: (side, rows of 0 = black / 1 = white)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = {}, 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        offset += 12 + length
    width, height, bit_depth, colour_type, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (width, bit_depth, colour_type) == (height, 1, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    row_bytes = (width + 7) // 8
    rows = []
    for row_index in range(height):
        start = row_index * (row_bytes + 1)
        assert raw[start] == 0  # no filter
        bits = "".join(f"{byte:08b}" for byte in raw[start + 1 : start + 1 + row_bytes])
        rows.append([int(bit) for bit in bits[:width]])
    return width, rows


def test_png_draws_the_qr_matrix(public_key_pem):
    stamp = qr_stamp_make(
        irn=IRN, certificate=CERTIFICATE, public_key=public_key_pem, stamped_at=STAMPED_AT
    )

    side, rows = png_pixels(qr_png(data=stamp, box_size=3, border=4))

    assert side % 3 == 0
    modules = side // 3
    quiet_zone, finder = 4 * 3, 7 * 3
    assert all(pixel == 1 for pixel in rows[0])  # the quiet zone is white
    # The top-left finder pattern: a dark 7x7 ring, a light ring, a dark 3x3 centre.
    assert rows[quiet_zone][quiet_zone] == 0
    assert rows[quiet_zone + 3][quiet_zone + 3] == 1
    assert rows[quiet_zone + finder // 2][quiet_zone + finder // 2] == 0
    assert modules >= 21 + 8  # at least version 1 plus the border


def test_svg_is_an_svg_document():
    svg = qr_svg(data="INV2026011401-A7K3Q9ZD-20260114")

    assert svg.startswith(b"<?xml")
    assert b"<svg" in svg
    assert b"<path" in svg
