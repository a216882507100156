"""Toast's part of the sandbox traffic (sandboxes/kit/traffic.py): restaurant checks, and the
orders webhooks Toast sends about them.

A change is a paid order in the sandbox: one check, sometimes split in two, of a small Nigerian
menu (some items priced with VAT included, some without), with now and then a voided item, a
discount, a service charge and a tip; a share of earlier checks is refunded in part. Each
change is announced as Toast announces it: one ``order_updated`` delivery carrying the whole
order, signed over the body and its ``timestamp``; a retry is the same bytes with the next
``Toast-Attempt-Number`` (Toast tries three times).

``orders_history`` writes past paid orders straight into the sandbox, with no webhooks, for
back-fills and polls.
"""

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform
from sandboxes.toast.models import ToastSandboxOrder, ToastSandboxRestaurant
from sandboxes.toast.server import sandbox_check_refund, sandbox_order_create
from sandboxes.toast.webhooks import order_webhook, webhook_headers

# (name, menu price in naira, tax included in the menu price)
MENU = (
    ("Jollof Rice", 2500, False),
    ("Fried Rice and Chicken", 4200, False),
    ("Pounded Yam and Egusi", 5200, False),
    ("Suya (per stick)", 700, True),
    ("Pepper Soup", 3800, False),
    ("Moi Moi", 900, True),
    ("Zobo (50cl)", 600, True),
    ("Chapman", 1500, False),
    ("Asun", 3500, False),
    ("Plantain (dodo)", 800, True),
)


def till_check(*, rng: random.Random, number: int) -> dict:
    """One check as a till posts it."""
    selections = []
    for name, price, included in rng.sample(MENU, k=rng.randint(1, 4)):
        selections.append(
            {
                "displayName": name,
                "price": price,
                "quantity": rng.choice((1, 1, 1, 2, 3)),
                "taxInclusion": "INCLUDED" if included else "NOT_INCLUDED",
                **({"discountPercent": 10} if rng.random() < 0.1 else {}),
            }
        )
    if rng.random() < 0.15:
        name, price, _ = rng.choice(MENU)
        selections.append({"displayName": name, "price": price, "voided": True})
    check: dict = {
        "displayNumber": str(number),
        "selections": selections,
        "payments": [
            {
                "type": rng.choice(("CREDIT", "CREDIT", "CASH")),
                "tipAmount": rng.choice((0, 0, 200, 500, 1000)),
            }
        ],
    }
    if rng.random() < 0.1:
        check["appliedDiscounts"] = [{"name": "Happy hour", "percent": 5}]
    if rng.random() < 0.2:
        check["appliedServiceCharges"] = [{"name": "Service charge 10%", "percent": 10}]
    if rng.random() < 0.3:
        check["customer"] = {"firstName": "Chidi", "lastName": "Eze", "phone": "8035550111"}
    return check


def till_order(*, rng: random.Random, number: int) -> dict:
    checks = [till_check(rng=rng, number=number)]
    if rng.random() < 0.15:
        checks.append(till_check(rng=rng, number=number + 1))
    return {"displayNumber": str(number), "checks": checks}


def orders_history(
    *,
    restaurant: ToastSandboxRestaurant,
    count: int,
    start: datetime,
    end: datetime,
    seed: int | None = None,
) -> list[ToastSandboxOrder]:
    """``count`` paid orders modified at even steps through [start, end), no webhooks."""
    rng = random.Random(seed)  # noqa: S311 (made-up sales, repeatable by seed)
    step = (end - start) / max(count, 1)
    return [
        sandbox_order_create(
            restaurant=restaurant,
            body={"checks": [till_check(rng=rng, number=index + 1)]},
            at=start + step * index,
        )
        for index in range(count)
    ]


class ToastTraffic(TrafficPlatform):
    """Paid checks of one restaurant; a ``refund_share`` of them is later refunded in part.
    Deliveries are signed with ``signing_key``, the subscription's secret."""

    key = "toast"
    # Toast abandons a delivery not answered within 2 s.
    delivery_timeout_seconds = 2.0

    @classmethod
    def add_arguments(cls, parser) -> None:
        # Named for Toast: every platform's options share the command's parser.
        parser.add_argument("--toast-refund-share", type=float, default=0.05)

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        return cls(
            restaurant=account_id,
            signing_key=signing_key,
            refund_share=options["toast_refund_share"],
        )

    def __init__(
        self, *, restaurant: ToastSandboxRestaurant | str, signing_key: str, refund_share=0.0
    ):
        if not 0 <= refund_share <= 1:
            raise ValueError("refund_share is a share (0-1)")
        if not signing_key:
            raise ValueError("Toast signs with the subscription's secret: give it")
        if isinstance(restaurant, str):
            found = ToastSandboxRestaurant.objects.filter(restaurant_guid=restaurant).first()
            if found is None:
                raise ValueError(f"The Toast sandbox has no restaurant {restaurant}")
            restaurant = found
        self.restaurant = restaurant
        self.signing_key = signing_key
        self.refund_share = refund_share
        self.orders_created = 0
        self.refunds_created = 0
        self._paid: list[ToastSandboxOrder] = []

    def change_make(self, *, rng: random.Random) -> list[Event]:
        if self._paid and rng.random() < self.refund_share:
            order = self._paid.pop(rng.randrange(len(self._paid)))
            check = order.data["checks"][0]
            total = Decimal(str(check["totalAmount"]))
            sandbox_check_refund(
                restaurant=self.restaurant,
                guid=order.guid,
                check_guid=check["guid"],
                amount=(total * Decimal("0.3")).quantize(Decimal("0.01")),
            )
            order.refresh_from_db()
            self.refunds_created += 1
        else:
            self.orders_created += 1
            order = sandbox_order_create(
                restaurant=self.restaurant,
                body=till_order(rng=rng, number=self.orders_created),
            )
            self._paid.append(order)
        return [Event(payload=order_webhook(restaurant=self.restaurant, order=order.data))]

    def event_retried(self, event: Event) -> Event:
        return event  # the same bytes again; the header says which attempt

    def body(self, events: tuple[Event, ...]) -> bytes:
        (event,) = events
        return json.dumps(event.payload).encode()

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        (event,) = events
        return webhook_headers(
            body=body,
            secret=self.signing_key,
            restaurant_guid=self.restaurant.restaurant_guid,
            attempt=min(event.attempt + 1, 3),
        )

    def counts(self) -> dict:
        return {"orders": self.orders_created, "refunds": self.refunds_created}

    @classmethod
    def history_write(cls, *, account_id, count, days, seed, options) -> int:
        restaurant = ToastSandboxRestaurant.objects.get(restaurant_guid=account_id)
        now = timezone.now()
        return len(
            orders_history(
                restaurant=restaurant,
                count=count,
                start=now - timedelta(days=days),
                end=now,
                seed=seed,
            )
        )
