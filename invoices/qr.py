"""The QR "cryptographic stamp" printed on a signed invoice, and its images.

The stamp is ``{"irn": "<IRN>.<unix seconds>", "certificate": "<certificate>"}`` as compact JSON,
RSA-encrypted with the FIRS public key from the taxpayer's ``crypto_keys.txt`` (PKCS#1 v1.5, the
``openssl pkeyutl -encrypt`` default the FIRS doc uses) and base64-encoded. Only FIRS holds the
private key, so scanners verify against FIRS. Padding is random: every call gives a different
stamp, so store the one that was printed. Everything here is pure: keys come in as arguments.
"""

import base64
import binascii
import io
import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime

import qrcode
import qrcode.image.svg
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

PUBLIC_KEY_BLOCK_PATTERN = re.compile(
    r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL
)
# PKCS#1 v1.5 needs 11 bytes of padding in every block.
PKCS1V15_OVERHEAD = 11


@dataclass(frozen=True)
class FirsCryptoKeys:
    public_key_pem: str
    certificate: str


def crypto_keys_parse(text: str) -> FirsCryptoKeys:
    """Split the dashboard's ``crypto_keys.txt``: a PEM public key, then the certificate string."""
    match = PUBLIC_KEY_BLOCK_PATTERN.search(text)
    if match is None:
        raise ValueError("crypto_keys.txt holds no -----BEGIN PUBLIC KEY----- block")
    certificate = "".join(text[match.end() :].split())
    if not certificate:
        raise ValueError("crypto_keys.txt holds no certificate after the public key")
    return FirsCryptoKeys(public_key_pem=match.group(0), certificate=certificate)


def firs_public_key_load(public_key: str | bytes) -> RSAPublicKey:
    """Load the FIRS key as PEM, or as base64 of the PEM or DER (some clients store it so)."""
    raw = public_key.encode("ascii") if isinstance(public_key, str) else public_key
    if b"-----BEGIN" not in raw:
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except binascii.Error:
            raise ValueError("The FIRS public key is neither PEM nor base64") from None
    key = load_pem_public_key(raw) if b"-----BEGIN" in raw else load_der_public_key(raw)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("The FIRS public key is not an RSA key")
    return key


def qr_stamp_plaintext(*, irn: str, certificate: str, stamped_at: datetime) -> bytes:
    """The JSON that gets encrypted; compact so it fits one RSA block."""
    if stamped_at.tzinfo is None:
        raise ValueError("stamped_at must be timezone-aware: the stamp carries Unix seconds")
    stamp = {"irn": f"{irn}.{int(stamped_at.timestamp())}", "certificate": certificate}
    return json.dumps(stamp, separators=(",", ":")).encode("utf-8")


def qr_stamp_make(
    *, irn: str, certificate: str, public_key: str | bytes, stamped_at: datetime
) -> str:
    """The base64 string to put in the QR code."""
    key = firs_public_key_load(public_key)
    plaintext = qr_stamp_plaintext(irn=irn, certificate=certificate, stamped_at=stamped_at)
    limit = key.key_size // 8 - PKCS1V15_OVERHEAD
    if len(plaintext) > limit:
        raise ValueError(
            f"The stamp is {len(plaintext)} bytes; a {key.key_size}-bit key encrypts at most "
            f"{limit}. Is the certificate the short string from crypto_keys.txt?"
        )
    return base64.b64encode(key.encrypt(plaintext, PKCS1v15())).decode("ascii")


def _qr_code(data: str, *, box_size: int, border: int) -> qrcode.QRCode:
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border
    )
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(*, data: str, box_size: int = 10, border: int = 4) -> bytes:
    image = _qr_code(data, box_size=box_size, border=border).make_image(
        image_factory=qrcode.image.svg.SvgPathImage
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_png(*, data: str, box_size: int = 10, border: int = 4) -> bytes:
    """A 1-bit greyscale PNG of the QR code.

    qrcode's own PNG output needs Pillow or pypng, neither of which the project installs; a QR
    matrix is simple enough to encode with zlib.
    """
    matrix = _qr_code(data, box_size=box_size, border=border).get_matrix()  # includes the border
    side = len(matrix) * box_size
    raw_rows = []
    for modules in matrix:
        # In 1-bit greyscale 1 is white; a dark module is 0.
        bits = "".join(("0" if is_dark else "1") * box_size for is_dark in modules)
        bits = bits.ljust(-(-side // 8) * 8, "1")
        row = int(bits, 2).to_bytes(len(bits) // 8, "big")
        raw_rows.append(b"\x00" + row)  # filter type 0 (none) for every scanline
    image_data = b"".join(row for row in raw_rows for _ in range(box_size))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(image_data, 9))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
