"""Salesforce's REST API, as much of it as the connector calls: SOQL queries and their
``nextRecordsUrl`` pages, sObject reads and updates, and the ``updated`` list. The base URL is
the org's ``instance_url`` (or our sandbox's). Answers' numbers are read as Decimal.

Limits: every answer's ``Sforce-Limit-Info: api-usage=<used>/<max>`` says how much of the
org's rolling 24-hour allocation is used. From ``SLOW_DOWN_AT`` on, calls are spaced out;
from ``PAUSE_AT`` on, every call for the org waits ``PAUSE_SECONDS`` and then tries again
(each answer reports the window anew), so the rest is never spent by us. A spent allocation is
``403 REQUEST_LIMIT_EXCEEDED``: transient, with the same long wait, never refused credentials.
``401 INVALID_SESSION_ID`` (the session timed out; tokens carry no expiry) is answered by
``session_renew``, once, and the call made again.
"""

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from urllib.parse import quote

import requests

from integrations.base.errors import (
    AuthenticationError,
    ConnectorError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)
from integrations.base.http import PlatformClient, error_for_response
from integrations.crm.salesforce import constants

LIMIT_PATTERN = re.compile(r"api-usage=(\d+)/(\d+)")
QUERY_MORE_PATTERN = re.compile(
    re.escape(constants.DATA_PATH) + r"/query/[A-Za-z0-9]{15,18}-\d{1,9}"
)


class InvalidSession(AuthenticationError):
    """401 INVALID_SESSION_ID: the access token's session is over; a refresh may help."""


def api_usage(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(used, max) of an answer's ``Sforce-Limit-Info``; None when it says nothing readable."""
    match = LIMIT_PATTERN.search(headers.get(constants.LIMIT_HEADER) or "")
    if not match or int(match.group(2)) <= 0:
        return None
    return int(match.group(1)), int(match.group(2))


class SalesforceClient(PlatformClient):
    platform = "Salesforce"

    def __init__(
        self,
        *,
        base_url: str,
        account: str,
        access_token: str = "",
        session_renew: Callable[[str], str] | None = None,
    ):
        super().__init__(base_url=base_url, account=account, access_token=access_token)
        self.session_renew = session_renew

    def call(self, method: str, path: str, **kwargs) -> dict:
        try:
            return super().call(method, path, **kwargs)
        except InvalidSession:
            if self.session_renew is None:
                raise
            # Once: a second 401 after a fresh token is refused credentials.
            self.access_token = self.session_renew(self.access_token)
            return super().call(method, path, **kwargs)

    def answer(self, response: requests.Response):
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise TransientConnectorError(
                f"Salesforce answered {response.status_code} with a body that is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise PermanentConnectorError("Salesforce answered with JSON that is not an object")
        return body

    def pause_from(self, response: requests.Response) -> float:
        usage = api_usage(response.headers)
        if usage is None:
            return super().pause_from(response)
        share = usage[0] / usage[1]
        if share >= constants.PAUSE_AT:
            return constants.PAUSE_SECONDS
        if share >= constants.SLOW_DOWN_AT:
            return constants.SLOW_DOWN_SECONDS
        return super().pause_from(response)

    def error_for(self, response: requests.Response) -> ConnectorError:
        code, message = _error_of(response)
        detail = f"Salesforce answered {response.status_code}: {code or 'error'} {message}".strip()
        if code == "REQUEST_LIMIT_EXCEEDED":
            self.pause_set(constants.PAUSE_SECONDS)
            return RateLimited(detail, retry_after=constants.PAUSE_SECONDS, status=403)
        if response.status_code == 401 and code == "INVALID_SESSION_ID":
            return InvalidSession(detail, status=401)
        error = error_for_response(response, platform=self.platform)
        error.args = (detail,)
        return error

    # --- endpoints ---------------------------------------------------------------------------

    def query(self, soql: str) -> dict:
        return self.call(
            "GET",
            f"{constants.DATA_PATH}/query",
            params={"q": soql},
            headers={"Sforce-Query-Options": f"batchSize={constants.QUERY_BATCH_SIZE}"},
        )

    def query_more(self, next_records_url: object) -> dict:
        """The page a ``nextRecordsUrl`` names; only a query locator path of this API."""
        if not isinstance(next_records_url, str) or not QUERY_MORE_PATTERN.fullmatch(
            next_records_url
        ):
            raise PermanentConnectorError(
                f"Salesforce's nextRecordsUrl {next_records_url!r} is not a query locator"
            )
        return self.call("GET", next_records_url)

    def sobject(self, object_type: str, record_id: str, *, fields=()) -> dict:
        params = {"fields": ",".join(fields)} if fields else None
        return self.call("GET", _sobject_path(object_type, record_id), params=params)

    def sobject_update(self, object_type: str, record_id: str, values: Mapping) -> None:
        self.call("PATCH", _sobject_path(object_type, record_id), json=dict(values))

    def limits(self) -> dict:
        return self.call("GET", f"{constants.DATA_PATH}/limits")


def _sobject_path(object_type: str, record_id: str) -> str:
    if not constants.RECORD_ID_PATTERN.fullmatch(record_id):
        raise PermanentConnectorError(f"{record_id!r} is not a Salesforce record id")
    return f"{constants.DATA_PATH}/sobjects/{quote(object_type, safe='')}/{record_id}"


def _error_of(response: requests.Response) -> tuple[str, str]:
    """(errorCode, message) of an error answer: a JSON array on the REST API, an object on
    OAuth's endpoints."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or ""), str(body[0].get("message") or "")[:300]
    if isinstance(body, dict):
        return str(body.get("error") or ""), str(body.get("error_description") or "")[:300]
    return "", ""
