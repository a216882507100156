"""HubSpot's HTTP API, as much of it as the connector calls: CRM objects, search, associations
and pipelines (OAuth goes through social-core's backend: oauth.py). HubSpot or our sandbox: the
base URL decides (``https://api.hubapi.com`` or ``<site>/sandbox/hubspot``).

Rate limits (FACTS §1.5): every CRM answer's ``X-HubSpot-RateLimit-*`` headers say what is left
of the token's ten-second and per-second budgets. When one is spent, calls with that token wait
until its window has passed: a short wait is slept through, a longer one raises RateLimited so
the task is retried later instead of holding a worker. A 429 raises RateLimited with its
``Retry-After`` and holds back every caller of the token until then. The pause is kept in the
cache, so every worker using the token honours it.
"""

import hashlib
import time
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import quote

import requests
from django.core.cache import cache

from integrations.base.errors import RateLimited
from integrations.crm.hubspot.mappers import (
    BATCH_READ_LIMIT,
    LINE_ITEM_PROPERTIES,
    associations_from_batch,
    line_items_batch_read_request,
)
from taxpoynt.lib.http import (
    DEFAULT_TIMEOUT,
    pooled_session,
    response_json,
    retry_after_seconds,
    transport_error,
)

API_BASE_URL = "https://api.hubapi.com"
# A pause up to this long is slept through; a longer one is the caller's to wait out.
MAX_SLEEP_SECONDS = 2.0
# When HubSpot does not say how long a window lasts.
DEFAULT_INTERVAL_SECONDS = 10.0
ASSOCIATION_BATCH_LIMIT = 1000
PAUSE_CACHE_KEY = "hubspot:rate-pause:{token}"


class HubSpotClient:
    platform = "HubSpot"

    def __init__(self, *, base_url: str, access_token: str = ""):
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token

    # --- CRM ---------------------------------------------------------------------------------

    def deal(self, deal_id: str, *, properties: Collection[str]) -> dict:
        """One deal with the ids of its line items, companies and contacts."""
        return self._call(
            "GET",
            f"/crm/v3/objects/deals/{quote(deal_id, safe='')}",
            params={
                "properties": ",".join(properties),
                "associations": "line_items,companies,contacts",
            },
        )

    def object(self, object_type: str, object_id: str, *, properties: Collection[str]) -> dict:
        return self._call(
            "GET",
            f"/crm/v3/objects/{object_type}/{quote(object_id, safe='')}",
            params={"properties": ",".join(properties)},
        )

    def line_items(self, line_item_ids: Collection[str]) -> list[dict]:
        results = []
        for chunk in _chunks(line_item_ids, BATCH_READ_LIMIT):
            body = self._call(
                "POST",
                "/crm/v3/objects/line_items/batch/read",
                json=line_items_batch_read_request(chunk, properties=LINE_ITEM_PROPERTIES),
            )
            results.extend(body.get("results", []))
        return results

    def objects(
        self, object_type: str, object_ids: Collection[str], *, properties: Collection[str]
    ) -> list[dict]:
        """Batch read; ids HubSpot does not find are left out."""
        results = []
        for chunk in _chunks(object_ids, BATCH_READ_LIMIT):
            body = self._call(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/read",
                json={
                    "inputs": [{"id": object_id} for object_id in chunk],
                    "properties": list(properties),
                    "propertiesWithHistory": [],
                },
            )
            results.extend(body.get("results", []))
        return results

    def associations(
        self, *, from_type: str, to_type: str, object_ids: Collection[str]
    ) -> dict[str, tuple[str, ...]]:
        """Object id -> the ids associated with it (v4 batch read)."""
        associated: dict[str, tuple[str, ...]] = {}
        for chunk in _chunks(object_ids, ASSOCIATION_BATCH_LIMIT):
            body = self._call(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                json={"inputs": [{"id": object_id} for object_id in chunk]},
            )
            associated.update(associations_from_batch(body))
        return associated

    def deals_search(self, body: Mapping) -> dict:
        return self._call("POST", "/crm/v3/objects/deals/search", json=dict(body))

    def pipelines(self) -> dict:
        return self._call("GET", "/crm/v3/pipelines/deals")

    # --- plumbing ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: dict | None = None,
    ) -> dict:
        # taxpoynt.lib.http.request_json does not hand back the answer's headers, and the rate
        # limit lives in them: the same session and error mapping, with the headers read here.
        self._wait_for_budget()
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.access_token}"}
        try:
            response = pooled_session().request(
                method,
                f"{self.base_url}{path}",
                headers=headers,
                json=json,
                params=params,
                timeout=DEFAULT_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise transport_error(exc, platform=self.platform) from None
        self._budget_note(response)
        return response_json(response, platform=self.platform)

    @property
    def _pause_key(self) -> str:
        token = hashlib.sha256(self.access_token.encode("utf-8")).hexdigest()[:32]
        return PAUSE_CACHE_KEY.format(token=token)

    def _wait_for_budget(self) -> None:
        until = cache.get(self._pause_key)
        wait = (until or 0) - time.time()
        if wait <= 0:
            return
        if wait > MAX_SLEEP_SECONDS:
            raise RateLimited(
                f"{self.platform}'s rate limit for this account is spent for {wait:.1f} s more",
                retry_after=wait,
                status=None,
            )
        time.sleep(wait)

    def _budget_note(self, response: requests.Response) -> None:
        """Hold back this token's next calls when the answer says a budget is spent."""
        headers = response.headers
        interval = _number(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        window = interval / 1000 if interval else DEFAULT_INTERVAL_SECONDS
        if response.status_code == 429:
            retry_after = retry_after_seconds(headers)
            pause = retry_after if retry_after is not None else window
        elif _number(headers.get("X-HubSpot-RateLimit-Remaining")) == 0:
            # When the rolling window frees a call is not said: wait a whole window.
            pause = window
        elif _number(headers.get("X-HubSpot-RateLimit-Secondly-Remaining")) == 0:
            pause = 1.0
        else:
            return
        cache.set(self._pause_key, time.time() + pause, timeout=int(pause) + 2)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _chunks(items: Iterable[str], size: int) -> list[list[str]]:
    items = list(dict.fromkeys(items))
    return [items[start : start + size] for start in range(0, len(items), size)]
