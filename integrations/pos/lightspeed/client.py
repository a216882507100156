"""Lightspeed X-Series' HTTP API, as much of it as the connector calls. A store's host
(``https://{domain_prefix}.retail.lightspeed.app``) or our sandbox: the base URL decides.

Limits are per store and application: 300 x registers + 50 requests per 5 minutes, reported in
``X-RateLimit-Limit`` / ``X-RateLimit-Remaining``. A spent budget (remaining 0) pauses the
store's calls for the window; a 429 carries ``Retry-After`` as an HTTP date, and no call for the
store is sent before it (the shared pause in ``integrations.base.http``).

Answers are read with exact decimals: Lightspeed's money is JSON numbers.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import requests

from integrations.base.errors import PermanentConnectorError, TransientConnectorError
from integrations.base.http import PlatformClient, RateLimit
from integrations.pos.lightspeed.constants import (
    RATE_REMAINING_HEADER,
    RATE_WINDOW_SECONDS,
    SALE_UPDATE,
    SALES_PAGE_SIZE,
    SEARCH_PAGE_SIZE,
)


class LightspeedClient(PlatformClient):
    platform = "Lightspeed"
    rate_limits = (
        RateLimit(remaining_header=RATE_REMAINING_HEADER, window_seconds=RATE_WINDOW_SECONDS),
    )

    def answer(self, response: requests.Response):
        try:
            body = json.loads(response.content, parse_float=Decimal) if response.content else {}
        except ValueError:
            raise TransientConnectorError(
                f"Lightspeed answered {response.status_code} with a body that is not JSON"
            ) from None
        if not isinstance(body, dict | list):
            raise PermanentConnectorError("Lightspeed answered with JSON that is no object")
        return body

    def _data(self, answer) -> dict:
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise PermanentConnectorError("Lightspeed's answer holds no data object")
        return data

    # --- API 2.0 ---------------------------------------------------------------------------

    def retailer(self) -> dict:
        return self._data(self.call("GET", "/api/2.0/retailer"))

    def sale(self, sale_id: str) -> dict:
        return self._data(self.call("GET", f"/api/2.0/sales/{_segment(sale_id)}"))

    def sales_after(self, *, version: int, page_size: int = SALES_PAGE_SIZE) -> dict:
        """Sales changed after ``version`` (the global version cursor), lowest version first:
        ``{data: [...], version: {min, max}}``; the next page is ``after=version.max``."""
        return self.call("GET", "/api/2.0/sales", params={"after": version, "page_size": page_size})

    def sales_search(
        self,
        *,
        date_from: datetime,
        date_to: datetime,
        offset: int = 0,
        page_size: int = SEARCH_PAGE_SIZE,
    ) -> dict:
        """Sales made in [date_from, date_to), oldest first, ``offset`` on:
        ``{data: [...]}``."""
        return self.call(
            "GET",
            "/api/2.0/search",
            params={
                "type": "sales",
                "date_from": _utc(date_from),
                "date_to": _utc(date_to),
                "order_by": "sale_date",
                "order_direction": "asc",
                "offset": offset,
                "page_size": page_size,
            },
        )

    def customer(self, customer_id: str) -> dict:
        return self._data(self.call("GET", f"/api/2.0/customers/{_segment(customer_id)}"))

    def product(self, product_id: str) -> dict:
        return self._data(self.call("GET", f"/api/2.0/products/{_segment(product_id)}"))

    def outlets(self) -> list[dict]:
        return _list(self.call("GET", "/api/2.0/outlets").get("data"))

    def registers(self) -> list[dict]:
        return _list(self.call("GET", "/api/2.0/registers").get("data"))

    def taxes(self) -> list[dict]:
        return _list(self.call("GET", "/api/2.0/taxes").get("data"))

    # --- webhooks (API 1.0: a form field ``data`` holding the JSON) ---------------------------

    def webhooks(self) -> list[dict]:
        return _list(self.call("GET", "/api/webhooks"))

    def webhook_create(self, *, url: str, event_type: str = SALE_UPDATE) -> dict:
        data = json.dumps({"url": url, "active": True, "type": event_type})
        return self.call("POST", "/api/webhooks", data={"data": data})

    def webhook_delete(self, webhook_id: str) -> None:
        self.call("DELETE", f"/api/webhooks/{_segment(webhook_id)}")


def _list(value) -> list[dict]:
    if not isinstance(value, list):
        raise PermanentConnectorError("Lightspeed's answer holds no list")
    return [item for item in value if isinstance(item, dict)]


def _segment(value: str) -> str:
    """An id as one path segment: Lightspeed's ids are UUIDs; anything else is refused."""
    text = str(value)
    if not text or not all(char.isalnum() or char in "-_" for char in text) or len(text) > 64:
        raise PermanentConnectorError(f"{text[:40]!r} is not a Lightspeed id")
    return text


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
