"""Odoo's external API, both flavours: JSON-2 (``POST /json/2/<model>/<method>``, bearer API key,
19.0 and later) and the External RPC API's ``/jsonrpc`` ``execute_kw`` (17.0 and 18.0, the API
key standing in for the password). ``/web/version`` tells which one an instance takes.

Odoo answers numbers as JSON floats; they are read as ``Decimal`` here, so a float never
touches money. Odoo publishes no rate limits (Odoo Online throttles unannounced): a 429 or 503
pauses the account as for every platform.
"""

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

import requests

from integrations.base.errors import (
    AuthenticationError,
    PermanentConnectorError,
    TransientConnectorError,
)
from integrations.base.http import PlatformClient
from integrations.erp.odoo import constants

# JSON-RPC errors come back as HTTP 200: their ``data.name`` says what happened.
AUTH_ERROR_NAMES = ("odoo.exceptions.AccessDenied", "odoo.http.SessionExpiredException")
SESSION_EXPIRED_CODE = 100
# A database conflict or restart: the same call may go through next time.
TRANSIENT_ERROR_MARKS = ("psycopg", "OperationalError", "SerializationFailure", "Concurrency")
MAJOR_PATTERN = re.compile(r"(\d+)")


class OdooClient(PlatformClient):
    platform = "Odoo"

    def __init__(self, *, base_url: str, account: str, database: str, login: str, api_key: str):
        super().__init__(base_url=base_url, account=account)
        self.database = database
        self.login = login
        self.api_key = api_key

    def answer(self, response: requests.Response):
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise TransientConnectorError(
                f"Odoo answered {response.status_code} with a body that is not JSON"
            ) from None

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "TaxPoynt e-invoicing"}
        if self.database:
            headers[constants.DATABASE_HEADER] = self.database
        return headers

    def version(self) -> tuple[int, str]:
        """(major version, version text) of the instance: ``/web/version``, or, on an instance
        older than that route, the External RPC API's ``common.version``."""
        try:
            body = self.call("GET", constants.VERSION_PATH)
            info, text = _mapping(body).get("version_info"), _mapping(body).get("version")
        except PermanentConnectorError as error:
            if error.status != 404 or isinstance(error, AuthenticationError):
                raise
            body = self.rpc("common", "version", [])
            info, text = _mapping(body).get("server_version_info"), body.get("server_version")
        major = _major(info, text)
        if major is None:
            raise PermanentConnectorError(f"Odoo's version answer names no version: {text!r}")
        return major, str(text or major)

    def rpc(self, service: str, method: str, args: Sequence):
        """One ``/jsonrpc`` call; its ``result``, or the error its envelope carries."""
        envelope = self.call(
            "POST",
            constants.JSONRPC_PATH,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": list(args)},
                "id": 1,
            },
        )
        envelope = _mapping(envelope)
        if "error" in envelope:
            raise _rpc_error(envelope["error"])
        if "result" not in envelope:
            raise PermanentConnectorError("Odoo's /jsonrpc answer has neither result nor error")
        return envelope["result"]

    def execute(self, model: str, method: str, *, ids: Sequence[int] | None = None, **named):
        raise NotImplementedError


class Json2Client(OdooClient):
    """19.0 and later: named arguments, real HTTP statuses, the API key as bearer token."""

    def headers(self) -> dict[str, str]:
        return super().headers() | {"Authorization": f"bearer {self.api_key}"}

    def execute(self, model: str, method: str, *, ids: Sequence[int] | None = None, **named):
        body = dict(named)
        if ids is not None:
            body["ids"] = list(ids)
        return self.call("POST", constants.JSON2_PATH.format(model=model, method=method), json=body)


class JsonRpcClient(OdooClient):
    """17.0 and 18.0: ``object.execute_kw(db, uid, key, model, method, args, kwargs)``, the
    user's id found once with ``common.authenticate``."""

    def __init__(self, *, uid: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self._uid = uid

    @property
    def uid(self) -> int:
        if self._uid is None:
            uid = self.rpc("common", "authenticate", [self.database, self.login, self.api_key, {}])
            if isinstance(uid, bool) or not isinstance(uid, int):
                raise AuthenticationError(
                    "Odoo refused the login and API key for this database", status=401
                )
            self._uid = uid
        return self._uid

    def execute(self, model: str, method: str, *, ids: Sequence[int] | None = None, **named):
        args = [list(ids)] if ids is not None else []
        return self.rpc(
            "object",
            "execute_kw",
            [self.database, self.uid, self.api_key, model, method, args, named],
        )


def _mapping(value) -> Mapping:
    if not isinstance(value, Mapping):
        raise PermanentConnectorError("Odoo answered with JSON that is not an object")
    return value


def _major(info, text) -> int | None:
    """The major version of ``version_info`` ([19, 0, ...] or ['saas~18', 4, ...]) or text."""
    for candidate in ((info or [None])[0] if isinstance(info, list) else None, text):
        match = MAJOR_PATTERN.search(str(candidate)) if candidate is not None else None
        if match:
            return int(match.group(1))
    return None


def _rpc_error(error) -> Exception:
    """A /jsonrpc error envelope as a connector error."""
    error = error if isinstance(error, Mapping) else {}
    data = error.get("data") if isinstance(error.get("data"), Mapping) else {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or error.get("message") or "Odoo Server Error")[:300]
    text = f"Odoo refused the call: {message}" + (f" ({name})" if name else "")
    if name in AUTH_ERROR_NAMES or error.get("code") == SESSION_EXPIRED_CODE:
        return AuthenticationError(text, status=401)
    if any(mark in name for mark in TRANSIENT_ERROR_MARKS):
        return TransientConnectorError(text)
    return PermanentConnectorError(text, status=404 if error.get("code") == 404 else None)
