"""HubSpot's HTTP API, as much of it as the connector calls: CRM objects, search, associations
and pipelines (OAuth goes through social-core's backend: oauth.py). HubSpot or our sandbox: the
base URL decides (``https://api.hubapi.com`` or ``<site>/sandbox/hubspot``).

Rate limits: every CRM answer's ``X-HubSpot-RateLimit-*`` headers say what is left of the
account's rolling ten-second budget (``-Remaining``, its window in ``-Interval-Milliseconds``)
and of its per-second one (``-Secondly-Remaining``). Search answers carry none. A spent budget,
or a 429, pauses the account's calls (``PlatformClient``).
"""

from collections.abc import Collection, Iterable, Mapping
from urllib.parse import quote

from integrations.base.http import PlatformClient, RateLimit
from integrations.crm.hubspot.mappers import (
    BATCH_READ_LIMIT,
    LINE_ITEM_PROPERTIES,
    associations_from_batch,
    line_items_batch_read_request,
)

API_BASE_URL = "https://api.hubapi.com"
ASSOCIATION_BATCH_LIMIT = 1000
# When the rolling window frees a call is not said: a spent budget waits a whole window.
RATE_LIMITS = (
    RateLimit(
        remaining_header="X-HubSpot-RateLimit-Remaining",
        window_seconds=10.0,
        window_header="X-HubSpot-RateLimit-Interval-Milliseconds",
        window_header_seconds=0.001,
    ),
    RateLimit(remaining_header="X-HubSpot-RateLimit-Secondly-Remaining", window_seconds=1.0),
)


class HubSpotClient(PlatformClient):
    platform = "HubSpot"
    rate_limits = RATE_LIMITS

    # --- CRM ---------------------------------------------------------------------------------

    def deal(self, deal_id: str, *, properties: Collection[str]) -> dict:
        """One deal with the ids of its line items, companies and contacts."""
        return self.call(
            "GET",
            f"/crm/v3/objects/deals/{quote(deal_id, safe='')}",
            params={
                "properties": ",".join(properties),
                "associations": "line_items,companies,contacts",
            },
        )

    def line_items(self, line_item_ids: Collection[str]) -> list[dict]:
        results = []
        for chunk in _chunks(line_item_ids, BATCH_READ_LIMIT):
            body = self.call(
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
            body = self.call(
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
            body = self.call(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                json={"inputs": [{"id": object_id} for object_id in chunk]},
            )
            associated.update(associations_from_batch(body))
        return associated

    def deals_search(self, body: Mapping) -> dict:
        return self.call("POST", "/crm/v3/objects/deals/search", json=dict(body))

    def pipelines(self) -> dict:
        return self.call("GET", "/crm/v3/pipelines/deals")


def _chunks(items: Iterable[str], size: int) -> list[list[str]]:
    items = list(dict.fromkeys(items))
    return [items[start : start + size] for start in range(0, len(items), size)]
