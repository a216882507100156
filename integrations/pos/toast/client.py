"""Toast's HTTP API, as much of it as the connector calls. Toast or our sandbox: the base URL
decides (``https://ws-api.toasttab.com`` or ``<site>/sandbox/toast``).

Authentication is a machine client's login (client id and secret) answering a bearer token that
lasts about a day; Toast allows no more than two logins an hour. The token is kept in the shared
cache per credential until shortly before it expires, and a login is made under a lock in that
cache held per credential: every worker and process waits for the one login and reads its
token, so a burst of calls on a cold cache logs in once. Tokens are never logged.

Limits: every answer but the login's says ``X-Toast-RateLimit-Remaining`` and, as the UNIX time
its window ends, ``X-Toast-RateLimit-Reset``; a 429 says ``Retry-After``. The base client
pauses the restaurant's calls until then.
"""

import hashlib
import logging
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import requests
from django.core.cache import cache

from integrations.base.errors import (
    AuthenticationError,
    MappingError,
    PermanentConnectorError,
    TransientConnectorError,
)
from integrations.base.http import PlatformClient, RateLimit
from integrations.pos.toast import mappers
from integrations.pos.toast.constants import (
    BULK_PAGE_SIZE,
    LOGIN_PATH,
    MACHINE_CLIENT,
    ORDER_PATH,
    ORDERS_BULK_PATH,
    RESTAURANT_HEADER,
    TOKEN_REFRESH_MARGIN_SECONDS,
)

TOKEN_CACHE_KEY = "toast-token:{digest}"  # noqa: S105 (a cache key pattern)
# Longer than a login takes (the client's read timeout), so the lock outlives its holder's call.
LOGIN_LOCK_SECONDS = 20
LOGIN_LOCK_POLL_SECONDS = 0.05
# A refused login is answered from the cache this long: a burst of callers with revoked
# credentials would otherwise spend Toast's logins (limited per IP) one after another.
REFUSED_LOGIN_SECONDS = 60
logger = logging.getLogger(__name__)


class ToastLogin(PlatformClient):
    """The authentication API: no rate-limit headers, limited per IP."""

    platform = "Toast"

    def login(self, *, client_id: str, client_secret: str) -> tuple[str, float]:
        """(access token, seconds it lasts) for the machine client; AuthenticationError when
        Toast refuses the credentials."""
        answer = self.call(
            "POST",
            LOGIN_PATH,
            json={
                "clientId": client_id,
                "clientSecret": client_secret,
                "userAccessType": MACHINE_CLIENT,
            },
        )
        token = answer.get("token")
        if not isinstance(token, dict) or not isinstance(token.get("accessToken"), str):
            raise AuthenticationError("Toast's login answered without a token")
        expires_in = token.get("expiresIn")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise PermanentConnectorError("Toast's login answered without expiresIn")
        return token["accessToken"], float(expires_in)


class TokenCache:
    """One credential's bearer token, shared by every worker through the cache."""

    def __init__(self, *, base_url: str, client_id: str, client_secret: str):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        secret_digest = hashlib.sha256(client_secret.encode()).hexdigest()
        self.key = TOKEN_CACHE_KEY.format(
            digest=hashlib.sha256(
                f"{self.base_url}\0{client_id}\0{secret_digest}".encode()
            ).hexdigest()[:40]
        )

    def token(self) -> str:
        """A live token: the cached one, else one login under the credential's lock. A login
        Toast refused is not tried again for a while: the other callers get its refusal."""
        cached = self._cached()
        if cached:
            return cached
        with self._lock():
            # Another worker may have logged in, or been refused, while this one waited.
            cached = self._cached()
            if cached:
                return cached
            refused = cache.get(f"{self.key}:refused")
            if refused:
                raise AuthenticationError(refused)
            try:
                return self._login()
            except AuthenticationError as error:
                cache.set(f"{self.key}:refused", str(error), timeout=REFUSED_LOGIN_SECONDS)
                raise

    def seed(self, token: str, expires_in: float) -> None:
        """Keep a token a login outside the cache answered (the connect check's)."""
        self._store(token, expires_in)

    def forget(self, token: str) -> None:
        """Drop the cached token when it is this one (Toast refused it before its time)."""
        if self._cached() == token:
            cache.delete(self.key)

    def _login(self) -> str:
        token, expires_in = ToastLogin(base_url=self.base_url, account=self.client_id).login(
            client_id=self.client_id, client_secret=self.client_secret
        )
        self._store(token, expires_in)
        return token

    def _store(self, token: str, expires_in: float) -> None:
        # A token too short-lived for the margin is kept for half its life instead.
        margin = (
            TOKEN_REFRESH_MARGIN_SECONDS
            if expires_in > 2 * TOKEN_REFRESH_MARGIN_SECONDS
            else expires_in / 2
        )
        if expires_in - margin > 0:
            cache.set(self.key, token, timeout=expires_in - margin)

    def _cached(self) -> str:
        try:
            return cache.get(self.key) or ""
        except Exception:
            logger.warning("Toast: the token cache cannot be read")
            return ""

    @contextmanager
    def _lock(self):
        # A mutex in the shared cache (an atomic add): every process waits for the one login.
        # It expires on its own, so a worker killed mid-login holds nobody up for long.
        lock_key = f"{self.key}:login"
        deadline = time.monotonic() + LOGIN_LOCK_SECONDS + 5
        while not cache.add(lock_key, 1, timeout=LOGIN_LOCK_SECONDS):
            if time.monotonic() > deadline:
                raise TransientConnectorError("Toast: another worker's login is taking too long")
            time.sleep(LOGIN_LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            cache.delete(lock_key)


class ToastClient(PlatformClient):
    platform = "Toast"
    rate_limits = (
        RateLimit(
            remaining_header="X-Toast-RateLimit-Remaining",
            window_seconds=1.0,
            window_header="X-Toast-RateLimit-Reset",
            window_header_is_epoch=True,
        ),
    )

    def __init__(self, *, base_url: str, restaurant_guid: str, tokens: TokenCache):
        super().__init__(base_url=base_url, account=restaurant_guid)
        self.restaurant_guid = restaurant_guid
        self.tokens = tokens
        self.links: dict = {}

    def headers(self) -> dict[str, str]:
        return super().headers() | {RESTAURANT_HEADER: self.restaurant_guid}

    def call(self, method, path, **kwargs):
        self.access_token = self.tokens.token()
        try:
            return super().call(method, path, **kwargs)
        except AuthenticationError as refused:
            if refused.status != 401:
                raise
            # Toast can end a token before its expiresIn: log in again, once.
            self.tokens.forget(self.access_token)
            self.access_token = self.tokens.token()
            return super().call(method, path, **kwargs)

    def answer(self, response: requests.Response):
        self.links = response.links
        try:
            return mappers.json_loads(response.content)
        except MappingError:
            raise PermanentConnectorError(
                f"Toast answered {response.status_code} with a body that is not JSON"
            ) from None

    def order(self, guid: str) -> dict:
        answer = self.call("GET", ORDER_PATH.format(guid=guid))
        if not isinstance(answer, dict):
            raise PermanentConnectorError("Toast answered an order that is not an object")
        return answer

    def orders_bulk(
        self, *, start: datetime, end: datetime, page: int = 1, page_size: int = BULK_PAGE_SIZE
    ) -> tuple[list, bool]:
        """(orders modified in [start, end), whether a next page exists) of one page."""
        answer = self.call(
            "GET",
            ORDERS_BULK_PATH,
            params={
                "startDate": toast_time(start),
                "endDate": toast_time(end),
                "page": page,
                "pageSize": page_size,
            },
        )
        return list(mappers.iter_orders(answer, path="ordersBulk")), "next" in self.links


def toast_time(moment: datetime) -> str:
    """A time as Toast's date parameters take it (milliseconds, numeric offset), in UTC."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
