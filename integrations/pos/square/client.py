"""Square's HTTP API, as much of it as the connector calls. Square or our sandbox: the base URL
decides (``https://connect.squareup.com`` or ``<site>/sandbox/square``)."""

from collections.abc import Mapping
from datetime import datetime

from taxpoynt.lib.http import request_json

SQUARE_VERSION = "2025-08-20"
# SearchOrders takes at most 10 locations per request and 1,000 orders per page.
SEARCH_PAGE_LIMIT = 500
BATCH_RETRIEVE_LIMIT = 100


class SquareClient:
    platform = "Square"

    def __init__(self, *, base_url: str, access_token: str = ""):
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token

    def _call(self, method: str, path: str, *, json: object = None, params=None) -> dict:
        headers = {"Square-Version": SQUARE_VERSION, "Accept": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return request_json(
            method,
            f"{self.base_url}{path}",
            platform=self.platform,
            headers=headers,
            json=json,
            params=params,
        )

    def locations(self) -> list[dict]:
        return self._call("GET", "/v2/locations").get("locations", [])

    def order(self, order_id: str) -> dict:
        return self._call("GET", f"/v2/orders/{order_id}").get("order", {})

    def orders(self, order_ids: list[str]) -> list[dict]:
        body = self._call("POST", "/v2/orders/batch-retrieve", json={"order_ids": order_ids})
        return body.get("orders", [])

    def payment(self, payment_id: str) -> dict:
        return self._call("GET", f"/v2/payments/{payment_id}").get("payment", {})

    def refund(self, refund_id: str) -> dict:
        return self._call("GET", f"/v2/refunds/{refund_id}").get("refund", {})

    def customer(self, customer_id: str) -> dict:
        return self._call("GET", f"/v2/customers/{customer_id}").get("customer", {})

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
        return self._call("POST", "/v2/orders/search", json=body)

    def token_obtain(self, form: Mapping) -> dict:
        return self._call("POST", "/oauth2/token", json=dict(form))

    def token_revoke(self, *, client_id: str, client_secret: str, access_token: str) -> dict:
        # Revocation authenticates the app (its secret), not the seller's token.
        return request_json(
            "POST",
            f"{self.base_url}/oauth2/revoke",
            platform=self.platform,
            headers={"Square-Version": SQUARE_VERSION, "Authorization": f"Client {client_secret}"},
            json={"client_id": client_id, "access_token": access_token},
        )


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
