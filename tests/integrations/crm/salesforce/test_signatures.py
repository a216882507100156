"""The token answer's signature (the sample's, computed with its consumer secret) and the
Outbound Message endpoint's path secret: constant time, failing closed."""

import json
from pathlib import Path

import pytest

from integrations.crm.salesforce.oauth import instance_url_checked, login_host_checked, org_id_of
from integrations.crm.salesforce.signatures import token_signature_valid, url_secret_valid

SAMPLE = json.loads(
    (
        Path(__file__).resolve().parent / "fixtures/oauth-token-response-web-server-flow.json"
    ).read_text()
)
SECRET = "EXAMPLE_CONSUMER_SECRET_1234567890"


def test_the_sample_token_answer_verifies_with_its_consumer_secret():
    assert token_signature_valid(answer=SAMPLE, client_secret=SECRET)


@pytest.mark.parametrize(
    "change",
    [
        {"id": SAMPLE["id"].replace("ExAm", "ExAn")},
        {"issued_at": "1732300000001"},
        {"signature": "not base64!"},
        {"signature": ""},
        {"id": None},
    ],
)
def test_a_changed_or_unsigned_answer_does_not_verify(change):
    assert not token_signature_valid(answer={**SAMPLE, **change}, client_secret=SECRET)
    assert not token_signature_valid(answer=SAMPLE, client_secret="")
    assert not token_signature_valid(answer=SAMPLE, client_secret=SECRET + "x")


def test_the_org_id_is_read_from_the_identity_url():
    assert org_id_of(SAMPLE["id"]) == "00D5g000004ExAmEAK"
    assert org_id_of("https://login.salesforce.com/id/nope/0055g00000ExAmPAAV") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("http://acme.my.salesforce.com", ""),
        ("https://acme.my.salesforce.com.evil.test", ""),
        ("https://evil.test", ""),
        ("https://user@acme.my.salesforce.com", ""),
    ],
)
def test_only_salesforce_instance_hosts_are_used(value, expected):
    assert instance_url_checked(value, issuer="https://login.salesforce.com/x") == expected


def test_a_sandbox_instance_is_the_issuers_own_origin():
    issuer = "http://testserver/sandbox/salesforce/services/oauth2/token"
    assert instance_url_checked("http://testserver/sandbox/salesforce", issuer=issuer)
    assert not instance_url_checked("http://elsewhere/sandbox/salesforce", issuer=issuer)


def test_login_hosts():
    assert login_host_checked("https://test.salesforce.com/") == "https://test.salesforce.com"
    assert login_host_checked("https://Acme.my.salesforce.com") == "https://acme.my.salesforce.com"
    assert login_host_checked("https://acme.salesforce.com.evil.test") == ""


@pytest.mark.parametrize("presented", ["", "k" * 42, "k" * 44, "K" * 43, "é" * 43])
def test_the_path_secret(presented):
    assert url_secret_valid(presented="k" * 43, secret="k" * 43)
    assert not url_secret_valid(presented=presented, secret="k" * 43)
    assert not url_secret_valid(presented="short", secret="short")
