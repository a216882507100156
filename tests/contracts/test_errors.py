"""Every connector tells transient failures (5xx, 429, timeouts, no connection) from permanent
ones (other 4xx) and rejected credentials (401, 403), as its own API calls meet them."""

import re
import uuid

import pytest
import requests
import responses

from integrations.base.errors import (
    AuthenticationError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)

BASE_URL = "https://contract-errors.example"
ANY_PATH = re.compile(re.escape(BASE_URL) + r"/.*")
ANSWERS = {
    "500": ({"status": 500, "json": {"message": "boom"}}, TransientConnectorError),
    "502": ({"status": 502, "body": "Bad Gateway"}, TransientConnectorError),
    "503": ({"status": 503, "json": {"message": "down"}}, TransientConnectorError),
    "504": ({"status": 504, "body": ""}, TransientConnectorError),
    "429": ({"status": 429, "headers": {"Retry-After": "7"}, "json": {}}, RateLimited),
    "read timeout": ({"body": requests.ReadTimeout()}, TransientConnectorError),
    "connect timeout": ({"body": requests.ConnectTimeout()}, TransientConnectorError),
    "no connection": ({"body": requests.ConnectionError()}, TransientConnectorError),
    "400": ({"status": 400, "json": {"message": "bad request"}}, PermanentConnectorError),
    "404": ({"status": 404, "json": {"message": "not found"}}, PermanentConnectorError),
    "422": ({"status": 422, "json": {"message": "invalid"}}, PermanentConnectorError),
    "401": ({"status": 401, "json": {"message": "expired"}}, AuthenticationError),
    "403": ({"status": 403, "json": {"message": "forbidden"}}, AuthenticationError),
}


@responses.activate
@pytest.mark.parametrize("answer", ANSWERS)
def test_a_failed_call_is_transient_or_permanent_as_its_answer_says(connector, contract, answer):
    reply, expected = ANSWERS[answer]
    for method in (responses.GET, responses.POST):
        responses.add(method, ANY_PATH, **reply)
    connection = contract.unsaved_connection(
        base_url=BASE_URL, credentials={"access_token": f"contract-{uuid.uuid4().hex}"}
    )
    # An account of its own: a rate-limit pause is kept per platform account.
    connection.account_id = f"contract-{uuid.uuid4().hex[:12]}"

    with pytest.raises(expected) as raised:
        connector(connection).test_connection()

    assert raised.value.permanent is issubclass(expected, PermanentConnectorError)
    assert responses.calls, "the connector's call went to its base URL"
    if expected is RateLimited:
        assert raised.value.retry_after == 7
