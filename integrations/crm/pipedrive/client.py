"""Pipedrive's HTTP API, as much of it as the connector calls: API v2 deals (and archived deals),
deal products, persons and organizations with cursor paging; API v1 for what v2 lacks (the user
behind a token, webhooks, notes). Pipedrive or our sandbox: the base URL decides (the company's
``api_domain``, ``https://api.pipedrive.com`` for a personal API token, or
``<site>/sandbox/pipedrive``).

Rate limits: answers carry ``x-ratelimit-remaining`` for the rolling 2-second burst window
(``x-ratelimit-reset``: the seconds left of it) and, on token-budget accounts, the company's
daily budget in ``x-daily-ratelimit-token-remaining``; every one may be missing. A spent window,
a spent budget or a 429 pauses the company's calls (``PlatformClient``). Under abuse Pipedrive's
edge answers an HTML 403, which is a rate limit, not refused credentials.
"""

import hashlib
import logging
from collections.abc import Iterator, Mapping
from urllib.parse import quote

import requests
from django.core.cache import cache

from integrations.base.errors import ConnectorError, RateLimited
from integrations.base.http import PlatformClient, RateLimit, error_for_response

API_BASE_URL = "https://api.pipedrive.com"
PAGE_LIMIT = 500
IDS_PER_CALL = 100
# Seconds a spent daily token budget is waited out before trying again.
DAILY_BUDGET_RETRY_SECONDS = 3600.0
RATE_LIMITS = (
    RateLimit(
        remaining_header="x-ratelimit-remaining",
        window_seconds=2.0,
        window_header="x-ratelimit-reset",
    ),
    RateLimit(
        remaining_header="x-daily-ratelimit-token-remaining",
        window_seconds=DAILY_BUDGET_RETRY_SECONDS,
    ),
)
# How long an HTML 403 (Pipedrive's edge throttling abuse) holds the company's calls back.
EDGE_BLOCK_SECONDS = 60.0
# The daily token budget as last reported, per company, so pulls can leave the rest to webhooks.
DAILY_LIMIT_HEADER = "x-daily-ratelimit-token-limit"
DAILY_REMAINING_HEADER = "x-daily-ratelimit-token-remaining"
BUDGET_CACHE_KEY = "pipedrive-daily-budget:{digest}"

logger = logging.getLogger(__name__)


class PipedriveClient(PlatformClient):
    platform = "Pipedrive"
    rate_limits = RATE_LIMITS

    def __init__(self, *, base_url: str, account: str, access_token: str = "", api_token=""):
        super().__init__(base_url=base_url, account=account, access_token=access_token)
        self.api_token = api_token

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.api_token:
            headers["x-api-token"] = self.api_token
        return headers

    def pause_from(self, response: requests.Response) -> float:
        # Each answer also says what is left of the day's budget: kept for ``budget_left``.
        limit = _whole(response.headers.get(DAILY_LIMIT_HEADER))
        remaining = _whole(response.headers.get(DAILY_REMAINING_HEADER))
        if limit and remaining is not None:
            try:
                cache.set(self._budget_key, (remaining, limit), timeout=86_400)
            except Exception:
                logger.warning("Pipedrive: the daily budget seen cannot be stored")
        return super().pause_from(response)

    def budget_left(self) -> float | None:
        """The share (0 to 1) of the company's daily token budget left when last reported;
        None when Pipedrive never said (request-based accounts, or the headers left out)."""
        try:
            seen = cache.get(self._budget_key)
        except Exception:
            return None
        return seen[0] / seen[1] if seen else None

    @property
    def _budget_key(self) -> str:
        digest = hashlib.sha256(self.account.encode()).hexdigest()[:32]
        return BUDGET_CACHE_KEY.format(digest=digest)

    def error_for(self, response: requests.Response) -> ConnectorError:
        if response.status_code == 403 and "json" not in response.headers.get("Content-Type", ""):
            self.pause_set(EDGE_BLOCK_SECONDS)
            return RateLimited(
                "Pipedrive's edge refused the call (HTML 403): too many requests",
                retry_after=EDGE_BLOCK_SECONDS,
            )
        return error_for_response(response, platform=self.platform)

    # --- API v2 ------------------------------------------------------------------------------

    def deals_list(self, *, archived: bool, params: Mapping) -> dict:
        """One page of ``/api/v2/deals`` (or its archived twin) with Pipedrive's cursor."""
        path = "/api/v2/deals/archived" if archived else "/api/v2/deals"
        return self.call("GET", path, params=dict(params))

    def deal(self, deal_id: str) -> dict:
        return self.call("GET", f"/api/v2/deals/{quote(deal_id, safe='')}").get("data") or {}

    def deal_products(self, deal_id: str) -> list[dict]:
        """Every product of one deal, paged to the end."""
        return list(self._pages(f"/api/v2/deals/{quote(deal_id, safe='')}/products", {}))

    def deals_products(self, deal_ids: list[str]) -> list[dict]:
        """Every product of the deals, 100 deals a call, each call paged to the end."""
        found = []
        for chunk in _chunks(deal_ids):
            found += self._pages("/api/v2/deals/products", {"deal_ids": ",".join(chunk)})
        return found

    def persons(self, person_ids: list[str]) -> list[dict]:
        return self._by_ids("/api/v2/persons", person_ids)

    def organizations(self, organization_ids: list[str]) -> list[dict]:
        return self._by_ids("/api/v2/organizations", organization_ids)

    def _by_ids(self, path: str, ids: list[str]) -> list[dict]:
        found = []
        for chunk in _chunks(ids):
            found += self._pages(path, {"ids": ",".join(chunk)})
        return found

    def _pages(self, path: str, params: Mapping) -> Iterator[dict]:
        cursor = ""
        while True:
            paging = {"limit": PAGE_LIMIT, **({"cursor": cursor} if cursor else {})}
            answer = self.call("GET", path, params={**params, **paging})
            data = answer.get("data") or []
            yield from (one for one in data if isinstance(one, dict))
            cursor = ((answer.get("additional_data") or {}).get("next_cursor")) or ""
            if not isinstance(cursor, str) or not cursor:
                return

    # --- API v1 ------------------------------------------------------------------------------

    def user_me(self) -> dict:
        return self.call("GET", "/api/v1/users/me").get("data") or {}

    def webhooks(self) -> list[dict]:
        listed = self.call("GET", "/api/v1/webhooks").get("data") or []
        return [one for one in listed if isinstance(one, dict)]

    def webhook_create(self, body: Mapping) -> dict:
        return self.call("POST", "/api/v1/webhooks", json=dict(body)).get("data") or {}

    def webhook_delete(self, webhook_id: str) -> None:
        self.call("DELETE", f"/api/v1/webhooks/{quote(webhook_id, safe='')}")

    def notes(self, *, deal_id: str) -> list[dict]:
        answer = self.call("GET", "/api/v1/notes", params={"deal_id": deal_id, "limit": PAGE_LIMIT})
        return [one for one in answer.get("data") or [] if isinstance(one, dict)]

    def note_create(self, *, deal_id: str, content: str) -> dict:
        body = {"deal_id": int(deal_id) if deal_id.isdigit() else deal_id, "content": content}
        return self.call("POST", "/api/v1/notes", json=body).get("data") or {}


def _whole(value: str | None) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _chunks(ids: list[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[start : start + IDS_PER_CALL] for start in range(0, len(unique), IDS_PER_CALL)]
