"""Lightspeed's part of the sandbox traffic (sandboxes/kit/traffic.py): till sales, and the
``sale.update`` webhooks Lightspeed sends about them.

A change is one sale rung up in the sandbox store: most close at once; a layby or an on-account
sale is saved open and updated once or twice before it closes (each save is a webhook); some
closed sales are then returned (a new sale with ``return_for`` and negative quantities) or
voided. Each delivery is one form-encoded event, signed with our app's client secret; a retry
is the same bytes again.

``history_write`` rings up closed sales dated in the past straight into the store, with no
webhooks, for back-fills.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from integrations.pos.lightspeed.signatures import SIGNATURE_HEADER, lightspeed_signature
from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform
from sandboxes.lightspeed.models import LightspeedSandboxObject, LightspeedSandboxStore
from sandboxes.lightspeed.server import sandbox_sale_save, webhook_body

LAYBY_SHARE = 0.1
ON_ACCOUNT_SHARE = 0.05
DISCOUNT_SHARE = 0.2
BUSINESS_SHARE = 0.3


class LightspeedTraffic(TrafficPlatform):
    """Sales of one store; a ``return_share`` of closed sales is returned and a
    ``void_share`` voided. Deliveries are signed with ``signing_key``, our app's secret."""

    key = "lightspeed"

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--return-share", type=float, default=0.05)
        parser.add_argument("--void-share", type=float, default=0.03)

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        return cls(
            store=_store(account_id),
            signing_key=signing_key,
            return_share=options["return_share"],
            void_share=options["void_share"],
        )

    def __init__(
        self,
        *,
        store: LightspeedSandboxStore,
        signing_key: str,
        return_share: float = 0.0,
        void_share: float = 0.0,
    ):
        if not 0 <= return_share <= 1 or not 0 <= void_share <= 1:
            raise ValueError("return_share and void_share are shares (0-1)")
        if not signing_key:
            raise ValueError("Lightspeed signs with our app's client secret: give it")
        self.store = store
        self.signing_key = signing_key
        self.return_share = return_share
        self.void_share = void_share
        self.made = {"sales_closed": 0, "returns": 0, "voids": 0, "open_updates": 0}

    def change_make(self, *, rng: random.Random) -> list[Event]:
        """One sale, each save of it an event, in the order Lightspeed sends them."""
        saves = sale_saves(store=self.store, rng=rng)
        events = []
        sale = None
        for body in saves:
            sale = sandbox_sale_save(
                store=self.store,
                body={**body, **({"id": sale.sale_id} if sale else {})},
                notify=False,
            )
            events.append(self._event(sale.data))
        self.made["open_updates"] += len(saves) - 1
        self.made["sales_closed"] += 1
        roll = rng.random()
        if roll < self.return_share:
            returned = sandbox_sale_save(
                store=self.store, body=return_request(sale.data, rng=rng), notify=False
            )
            events.append(self._event(returned.data))
            self.made["returns"] += 1
        elif roll < self.return_share + self.void_share:
            voided = sandbox_sale_save(
                store=self.store, body={"id": sale.sale_id, "status": "VOIDED"}, notify=False
            )
            events.append(self._event(voided.data))
            self.made["voids"] += 1
        return events

    def _event(self, sale: dict) -> Event:
        return Event(payload={"body": webhook_body(store=self.store, sale=sale).decode("ascii")})

    def event_retried(self, event: Event) -> Event:
        return event  # the same bytes again

    def body(self, events: tuple[Event, ...]) -> bytes:
        (event,) = events
        return event.payload["body"].encode("ascii")

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: lightspeed_signature(secret=self.signing_key, body=body),
        }

    def counts(self) -> dict:
        return dict(self.made)

    @classmethod
    def history_write(
        cls, *, account_id: str, count: int, days: int, seed: int | None, options: dict
    ) -> int:
        store = _store(account_id)
        rng = random.Random(seed)  # noqa: S311 (made-up sales, not secrets)
        end = timezone.now()
        for _ in range(count):
            moment = end - timedelta(seconds=rng.uniform(0, days * 86400))
            body = {**sale_request(store=store, rng=rng), "status": "CLOSED"}
            body["sale_date"] = moment.strftime("%Y-%m-%d %H:%M:%S")
            sandbox_sale_save(store=store, body=body, notify=False)
        return count


def sale_request(*, store: LightspeedSandboxStore, rng: random.Random) -> dict:
    """A register_sales body for a random basket of 1-4 products, sometimes discounted, sold
    to a business (with a TIN) or a walk-in customer, paid in cash in full (no status)."""
    objects = LightspeedSandboxObject.objects.filter(store=store)
    products = [row.data for row in objects.filter(kind="product").order_by("id")]
    registers = [row.data for row in objects.filter(kind="register").order_by("id")]
    customers = [row.data for row in objects.filter(kind="customer").order_by("id")]
    business = [one for one in customers if one.get("custom_field_1")]
    walk_in = [one for one in customers if not one.get("custom_field_1")]
    lines = []
    for product in rng.sample(products, rng.randint(1, min(4, len(products)))):
        line = {"product_id": product["id"], "quantity": rng.randint(1, 3)}
        if rng.random() < DISCOUNT_SHARE:
            line["discount"] = float(
                (Decimal(str(product["price_excluding_tax"])) / 10).quantize(Decimal("0.01"))
            )
        lines.append(line)
    customer = rng.choice(business if business and rng.random() < BUSINESS_SHARE else walk_in)
    return {
        "register_id": rng.choice(registers)["id"],
        "customer_id": customer["id"],
        "register_sale_products": lines,
        "register_sale_payments": [{"payment_type_id": "1", "name": "Cash"}],
    }


def sale_saves(*, store: LightspeedSandboxStore, rng: random.Random) -> list[dict]:
    """The bodies of a sale's saves: one CLOSED, or a layby / on-account sale saved open 2-3
    times before it closes."""
    body = sale_request(store=store, rng=rng)
    roll = rng.random()
    if roll < LAYBY_SHARE:
        opened, closed = "LAYBY", "LAYBY_CLOSED"
    elif roll < LAYBY_SHARE + ON_ACCOUNT_SHARE:
        opened, closed = "ONACCOUNT", "ONACCOUNT_CLOSED"
    else:
        return [{**body, "status": "CLOSED"}]
    updates = [{"status": opened} for _ in range(rng.randint(1, 2))]
    return [{**body, "status": opened}, *updates, {"status": closed}]


def return_request(sale: dict, *, rng: random.Random) -> dict:
    """A return of some of the sale's lines, in full."""
    confirmed = [line for line in sale["line_items"] if line["status"] != "VOIDED"]
    returned = rng.sample(confirmed, rng.randint(1, len(confirmed)))
    return {
        "register_id": sale["register_id"],
        "customer_id": sale.get("customer_id") or "",
        "return_for": sale["id"],
        "status": "CLOSED",
        "register_sale_products": [
            {
                "product_id": line["product_id"],
                "quantity": -line["quantity"],
                "price": line["price"],
                "discount": line["discount"],
            }
            for line in returned
        ],
    }


def _store(domain_prefix: str) -> LightspeedSandboxStore:
    store = LightspeedSandboxStore.objects.filter(domain_prefix=domain_prefix).first()
    if store is None:
        raise ValueError(f"The Lightspeed sandbox holds no store {domain_prefix!r}")
    return store
