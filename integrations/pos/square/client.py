"""Square's HTTP API, as much of it as the connector calls. Square or our sandbox: the base URL
decides (``https://connect.squareup.com`` or ``<site>/sandbox/square``).

Square publishes neither its rate limits nor headers that report them: an account over its
limit is answered 429 (error code ``RATE_LIMITED``), with a ``Retry-After`` only sometimes, so
only a stated ``Retry-After`` pauses the account's calls; otherwise the caller backs off.
"""

from datetime import datetime

from integrations.base.http import PlatformClient

SQUARE_VERSION = "2025-08-20"
# SearchOrders takes at most 10 locations per request and 1,000 orders per page.
SEARCH_PAGE_LIMIT = 500


class SquareClient(PlatformClient):
    platform = "Square"

    def headers(self) -> dict[str, str]:
        return super().headers() | {"Square-Version": SQUARE_VERSION}

    def locations(self) -> list[dict]:
        return self.call("GET", "/v2/locations").get("locations", [])

    def order(self, order_id: str) -> dict:
        return self.call("GET", f"/v2/orders/{order_id}").get("order", {})

    def completed_orders_search(
        self,
        *,
        location_ids: list[str],
        start: datetime,
        end: datetime,
        cursor: str = "",
        limit: int = SEARCH_PAGE_LIMIT,
    ) -> dict:
        """One page of COMPLETED orders closed in [start, end), oldest first."""
        body: dict = {
            "location_ids": location_ids[:10],
            "limit": limit,
            "query": {
                "filter": {
                    "state_filter": {"states": ["COMPLETED"]},
                    "date_time_filter": {
                        "closed_at": {"start_at": _rfc3339(start), "end_at": _rfc3339(end)}
                    },
                },
                "sort": {"sort_field": "CLOSED_AT", "sort_order": "ASC"},
            },
        }
        if cursor:
            body["cursor"] = cursor
        return self.call("POST", "/v2/orders/search", json=body)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
