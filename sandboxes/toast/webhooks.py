"""The orders webhooks Toast sends: the envelope about an order (its guests' names left out),
its headers signed over the body and its timestamp, and the delivery to a restaurant's
subscription of a change made through the API, tried as Toast tries: at once, then after 5 and
10 minutes, each try abandoned after 2 s, retried only on no answer, 404, 429 and 5xx."""

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC

import requests
from django.db import transaction
from django.utils import timezone

from integrations.pos.toast.signatures import toast_signature
from sandboxes.toast.models import ToastSandboxRestaurant

RETRY_DELAYS_SECONDS = (300.0, 600.0)
DELIVERY_TIMEOUT_SECONDS = 2.0
logger = logging.getLogger(__name__)


def _toast_time_now() -> str:
    moment = timezone.now().astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def order_webhook(*, restaurant: ToastSandboxRestaurant, order: dict) -> dict:
    """The orders webhook Toast sends about an order (its guests' names left out)."""
    announced = json.loads(json.dumps(order))
    for check in announced["checks"]:
        customer = check.get("customer")
        if customer:
            check["customer"] = {
                key: value
                for key, value in customer.items()
                if key not in ("firstName", "lastName", "phone")
            }
    return {
        "timestamp": _toast_time_now(),
        "eventCategory": "order_updated",
        "eventType": "order_updated",
        "guid": str(uuid.uuid4()),
        "details": {"restaurantGuid": restaurant.restaurant_guid, "order": announced},
    }


def webhook_headers(*, body: bytes, secret: str, restaurant_guid: str, attempt: int) -> dict:
    envelope = json.loads(body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "Apache-HttpClient/4.5.13 (Java/17)",
        "Toast-Signature": toast_signature(
            secret=secret, body=body, timestamp=envelope["timestamp"]
        ),
        "Toast-Event-Type": envelope["eventType"],
        "Toast-Event-Category": envelope["eventCategory"],
        "Toast-Restaurant-External-ID": restaurant_guid,
        "Toast-Attempt-Number": str(attempt),
    }


def announce(*, restaurant: ToastSandboxRestaurant, order: dict) -> None:
    """Deliver the order's webhook to the restaurant's subscription, once the change commits."""
    if not (restaurant.webhook_url and restaurant.webhook_secret):
        return
    envelope = order_webhook(restaurant=restaurant, order=order)
    transaction.on_commit(
        lambda: threading.Thread(
            target=_delivery_thread, args=(restaurant.pk, envelope), daemon=True
        ).start()
    )


def _delivery_thread(restaurant_id: int, envelope: dict) -> None:
    from django.db import connection as db_connection

    try:
        webhook_deliver(restaurant_id, envelope)
    finally:
        db_connection.close()  # the thread's own connection, opened for the delivery


def webhook_deliver(restaurant_id: int, envelope: dict, *, sleep: Callable = time.sleep) -> int:
    """Toast's delivery of one event; the attempt that got a 2xx, or 0 when none did."""
    restaurant = ToastSandboxRestaurant.objects.filter(pk=restaurant_id).first()
    if restaurant is None or not restaurant.webhook_url:
        return 0
    body = json.dumps(envelope).encode()
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS_SECONDS), start=1):
        sleep(delay)
        headers = webhook_headers(
            body=body,
            secret=restaurant.webhook_secret,
            restaurant_guid=restaurant.restaurant_guid,
            attempt=attempt,
        )
        try:
            status = requests.post(
                restaurant.webhook_url,
                data=body,
                headers=headers,
                timeout=DELIVERY_TIMEOUT_SECONDS,
                allow_redirects=False,
            ).status_code
        except requests.RequestException:
            status = None
        if status is not None and 200 <= status < 300:
            return attempt
        if status is not None and status not in (404, 429) and status < 500:
            logger.info("Toast sandbox: webhook answered %s, not retried", status)
            return 0
    return 0
