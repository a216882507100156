"""HubSpot signatures v3, v2, v1: HubSpot's published vectors, then the validation matrix.

Known answers come from HubSpot's own SDK tests (HubSpot/hubspot-api-python
tests/spec/utils/test_signature.py) and its v2 docs example (the GET one).
"""

from datetime import UTC, datetime, timedelta

import pytest

from integrations.crm.hubspot.signatures import (
    hubspot_signature_v1,
    hubspot_signature_v2,
    hubspot_signature_v3,
    hubspot_signature_valid,
    hubspot_signed_headers,
    v3_signed_uri,
)

SDK_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
SDK_BODY = b"{'example_field':'example_value'}"
SDK_URL = "https://www.example.com/webhook_uri"

SECRET = "0f3c2d8e-6b1a-4f59-9c7e-2a4b8d1e5f60"
URI = "https://app.taxpoynt.test/webhooks/hubspot"
BODY = b'[{"eventId":1,"portalId":62515,"objectId":18250003411,"subscriptionType":"deal.creation"}]'
NOW = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def v3_headers(*, secret=SECRET, uri=URI, body=BODY, timestamp_ms=NOW_MS, method="POST") -> dict:
    return {
        "X-HubSpot-Signature-v3": hubspot_signature_v3(
            secret=secret, method=method, uri=uri, body=body, timestamp=timestamp_ms
        ),
        "X-HubSpot-Request-Timestamp": str(timestamp_ms),
    }


def valid(headers, *, body=BODY, secret=SECRET, uri=URI, method="POST", **options) -> bool:
    return hubspot_signature_valid(
        headers=headers, body=body, secret=secret, method=method, uri=uri, now=NOW, **options
    )


# --- HubSpot's own vectors -----------------------------------------------------------------


def test_v1_matches_hubspots_vector():
    assert (
        hubspot_signature_v1(secret=SDK_SECRET, body=SDK_BODY)
        == "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"
    )


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("POST", SDK_BODY, "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"),
        ("GET", b"", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"),
    ],
)
def test_v2_matches_hubspots_vectors(method, body, expected):
    assert (
        hubspot_signature_v2(secret=SDK_SECRET, method=method, uri=SDK_URL, body=body) == expected
    )


def test_v3_matches_hubspots_vector():
    assert (
        hubspot_signature_v3(
            secret=SDK_SECRET, method="POST", uri=SDK_URL, body=SDK_BODY, timestamp=15000000
        )
        == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    )


# --- v3 (a valid delivery, a flipped bit and another key: tests/contracts/test_webhooks.py) ---


def test_v3_other_method_or_uri_is_refused():
    assert not valid(v3_headers(), method="PUT")
    assert not valid(v3_headers(), uri=URI + "/other")


@pytest.mark.parametrize("skew_seconds", [-301, 301])
def test_v3_timestamp_more_than_five_minutes_away_is_refused_either_way(skew_seconds):
    timestamp_ms = NOW_MS + skew_seconds * 1000
    assert not valid(v3_headers(timestamp_ms=timestamp_ms))


@pytest.mark.parametrize("skew_seconds", [-300, 300])
def test_v3_timestamp_exactly_five_minutes_away_is_accepted(skew_seconds):
    assert valid(v3_headers(timestamp_ms=NOW_MS + skew_seconds * 1000))


def test_v3_timestamp_is_signed():
    headers = v3_headers()
    headers["X-HubSpot-Request-Timestamp"] = str(NOW_MS + 1)
    assert not valid(headers)


@pytest.mark.parametrize("timestamp", ["", "soon", "1.7e12", "-1000", "١٢٣٤"])
def test_v3_malformed_timestamp_is_refused(timestamp):
    headers = v3_headers()
    headers["X-HubSpot-Request-Timestamp"] = timestamp
    assert not valid(headers)


def test_v3_without_timestamp_is_refused():
    headers = v3_headers()
    del headers["X-HubSpot-Request-Timestamp"]
    assert not valid(headers)


def test_v3_uri_escapes_hubspot_lists_are_decoded_before_signing():
    """HubSpot signs the URI with %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B decoded."""
    received = (
        "https://app.taxpoynt.test/webhooks/hubspot%3Bv%3D3?next=%2Fdone%3Fa%3D1"
        "&who=ops%40acme.ng&tags=%28a%2Cb%29%2A%21%24%27"
    )
    signed_by_hubspot = (
        "https://app.taxpoynt.test/webhooks/hubspot;v=3?next=/done?a=1"
        "&who=ops@acme.ng&tags=(a,b)*!$'"
    )
    # %3D is not on HubSpot's list: it stays encoded in what HubSpot signs.
    signed_by_hubspot = signed_by_hubspot.replace("v=3", "v%3D3").replace("a=1", "a%3D1")
    assert v3_signed_uri(received) == signed_by_hubspot
    signature = hubspot_signature_v3(
        secret=SECRET, method="POST", uri=signed_by_hubspot, body=BODY, timestamp=NOW_MS
    )
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(NOW_MS)}

    assert valid(headers, uri=received)


def test_v3_lowercase_escapes_decode_too():
    assert v3_signed_uri("https://h.test/a%2fb%3a") == "https://h.test/a/b:"


def test_v3_other_escapes_stay_encoded_and_decoding_is_one_pass():
    assert v3_signed_uri("https://h.test/a%20b%25c%253A") == "https://h.test/a%20b%25c%253A"
    headers = v3_headers(uri="https://h.test/a b")
    assert not valid(headers, uri="https://h.test/a%20b")


def test_v3_decides_alone_a_valid_v1_does_not_rescue_a_bad_v3():
    headers = {
        **v3_headers(secret="wrong"),
        "X-HubSpot-Signature": hubspot_signature_v1(secret=SECRET, body=BODY),
        "X-HubSpot-Signature-Version": "v1",
    }
    assert not valid(headers)


def test_headers_are_matched_whatever_their_case():
    headers = {name.lower(): value for name, value in v3_headers().items()}
    assert valid(headers)
    headers = {name.upper(): value for name, value in v3_headers().items()}
    assert valid(headers)


def test_signed_headers_carry_v3_and_v1_as_hubspot_sends_them():
    headers = hubspot_signed_headers(
        secret=SECRET, method="POST", uri=URI, body=BODY, timestamp_ms=NOW_MS
    )

    assert headers["X-HubSpot-Signature-Version"] == "v1"
    assert valid(headers)
    assert valid({k: v for k, v in headers.items() if "v3" not in k and "Timestamp" not in k})


# --- v2 and v1 -----------------------------------------------------------------------------


def v2_headers(*, secret=SECRET, method="POST", uri=URI, body=BODY) -> dict:
    return {
        "X-HubSpot-Signature": hubspot_signature_v2(
            secret=secret, method=method, uri=uri, body=body
        ),
        "X-HubSpot-Signature-Version": "v2",
    }


def v1_headers(*, secret=SECRET, body=BODY) -> dict:
    return {
        "X-HubSpot-Signature": hubspot_signature_v1(secret=secret, body=body),
        "X-HubSpot-Signature-Version": "v1",
    }


def test_v2_valid_and_refusals():
    assert valid(v2_headers())
    assert valid(v2_headers(method="GET", body=b""), method="GET", body=b"")
    assert not valid(v2_headers(), body=BODY + b" ")
    assert not valid(v2_headers(secret="wrong"))
    assert not valid(v2_headers(), uri=URI + "?x=1")
    assert not valid(v2_headers(), method="PUT")


def test_v1_valid_and_refusals():
    assert valid(v1_headers())
    assert not valid(v1_headers(), body=BODY + b" ")
    assert not valid(v1_headers(secret="wrong"))


def test_v1_and_v2_have_no_replay_window():
    """Without a timestamp an old delivery still verifies: dedupe is what stops a replay."""
    long_after = NOW + timedelta(days=30)
    assert hubspot_signature_valid(
        headers=v1_headers(), body=BODY, secret=SECRET, method="POST", uri=URI, now=long_after
    )


def test_the_version_header_picks_the_check():
    headers = v1_headers()
    headers["X-HubSpot-Signature-Version"] = "v2"
    assert not valid(headers)


def test_a_receiver_can_insist_on_v3():
    assert not valid(v1_headers(), versions=("v3",))
    assert not valid(v2_headers(), versions=("v3",))
    assert valid(v3_headers(), versions=("v3",))
    assert not valid(v3_headers(), versions=("v1",))


# --- failing closed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-HubSpot-Signature-Version": "v1"},
        {"X-HubSpot-Signature": hubspot_signature_v1(secret=SECRET, body=BODY)},
        {
            "X-HubSpot-Signature": hubspot_signature_v1(secret=SECRET, body=BODY),
            "X-HubSpot-Signature-Version": "v4",
        },
        {"X-HubSpot-Signature-v3": "", "X-HubSpot-Request-Timestamp": str(NOW_MS)},
        {"X-HubSpot-Signature": "é" * 64, "X-HubSpot-Signature-Version": "v1"},
    ],
)
def test_missing_or_odd_headers_are_refused(headers):
    assert not valid(headers)


@pytest.mark.parametrize(
    "overrides",
    [
        {"secret": ""},
        {"secret": None},
        {"uri": ""},
        {"method": ""},
        {"body": "text, not bytes"},
        {"secret": "\ud800"},
    ],
)
def test_missing_inputs_are_refused_without_raising(overrides):
    arguments = {"headers": v3_headers(), "body": BODY, "secret": SECRET, "method": "POST"}
    arguments["uri"] = URI
    arguments.update(overrides)
    assert not hubspot_signature_valid(**arguments, now=NOW)


def test_signing_without_a_secret_is_a_bug():
    with pytest.raises(ValueError):
        hubspot_signature_v1(secret="", body=BODY)
