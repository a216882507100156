"""What is Pipedrive's own in its Basic credentials check (the contract suite covers the rest):
the header is found whatever its case, and the user counts as much as the password."""

import base64

from integrations.crm.pipedrive.signatures import (
    basic_authorization,
    basic_credentials_valid,
    webhook_password,
)

URL = "https://app.taxpoynt.test/webhooks/crm/pipedrive/c1/"
SECRET = "connection-secret"


def _basic(pair: bytes) -> str:
    return "Basic " + base64.b64encode(pair).decode()


def test_the_header_is_found_whatever_the_case_of_its_name():
    value = basic_authorization(secret=SECRET, url=URL)

    assert basic_credentials_valid(headers={"authorization": value}, secret=SECRET, url=URL)
    assert basic_credentials_valid(headers={"AUTHORIZATION": value}, secret=SECRET, url=URL)


def test_the_right_password_under_another_user_or_without_its_colon_is_refused():
    password = webhook_password(secret=SECRET, url=URL).encode()
    for pair in (b"someone:" + password, b"taxpoynt" + password, b":" + password):
        assert not basic_credentials_valid(
            headers={"Authorization": _basic(pair)}, secret=SECRET, url=URL
        )
    assert basic_credentials_valid(
        headers={"Authorization": _basic(b"taxpoynt:" + password)}, secret=SECRET, url=URL
    )


def test_each_url_gets_its_own_password():
    assert webhook_password(secret=SECRET, url=URL) != webhook_password(
        secret=SECRET, url=URL.replace("c1", "c2")
    )
