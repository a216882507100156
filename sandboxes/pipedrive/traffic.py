"""Pipedrive's part of the sandbox traffic (sandboxes/kit/traffic.py): deals made and won in a
sandbox company, announced as webhooks v2.

A change is a deal created (open, with 1-4 products under one tax method, a person, and mostly
an organization with a TIN) or a deal moved: won, or, now and then, a won deal reopened (to be
won again later). Each delivery is one event, as Pipedrive sends them, with the subscription's
HTTP Basic credentials; a retry is the event again with ``meta.attempt`` + 1.
"""

import copy
import json
import random
from collections import Counter
from dataclasses import replace

from integrations.crm.pipedrive.signatures import basic_authorization
from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform
from sandboxes.pipedrive.models import PipedriveSandboxCompany, PipedriveSandboxRecord
from sandboxes.pipedrive.server import (
    Kind,
    deal_create,
    deal_product_add,
    deal_update,
    party_create,
    webhook_payload,
)

MAX_DEALS = 10_000
DEALS_MOVING = 8
NEW_DEAL_SHARE = 0.35
REOPEN_SHARE = 0.15
PRODUCTS = (
    (301, "POS terminal", 240000.0),
    (302, "Receipt printer", 85000.0),
    (303, "Installation service", 50000.0),
    (304, "Annual support plan", 120000.0),
    (305, "Barcode scanner", 42500.5),
)
CITIES = (("Ikeja", "100271"), ("Wuse", "900288"), ("Port Harcourt", "500272"))


def sandbox_deal_make(*, company, rng: random.Random, number: int, announce=False):
    """An open deal with 1-4 products, a person and (mostly) an organization with a TIN."""
    person = party_create(
        company=company,
        kind=Kind.PERSON,
        body={
            "name": f"Buyer {number}",
            "emails": [{"value": f"buyer{number}@example.ng", "primary": True}],
            "phones": [{"value": "+2348031234567", "primary": True}],
        },
    )
    organization = None
    if rng.random() < 0.7:
        city, postcode = rng.choice(CITIES)
        organization = party_create(
            company=company,
            kind=Kind.ORGANIZATION,
            body={
                "name": f"Customer {number} Ltd",
                "address": {
                    "street_number": str(rng.randint(1, 99)),
                    "route": "Allen Avenue",
                    "locality": city,
                    "postal_code": postcode,
                    "country": "Nigeria",
                },
                "custom_fields": {company.tin_field_key: f"{rng.randint(10**7, 10**8 - 1)}-0001"},
            },
        )
    deal = deal_create(
        company=company,
        body={
            "title": f"Deal {number}",
            "person_id": person.pk,
            "org_id": organization.pk if organization else None,
        },
        announce=announce,
    )
    method = rng.choice(("exclusive", "inclusive", "none"))
    for product_id, name, price in rng.sample(PRODUCTS, rng.randint(1, 4)):
        percentage = rng.random() < 0.5
        deal_product_add(
            company=company,
            deal_id=deal.pk,
            body={
                "product_id": product_id,
                "name": name,
                "item_price": price,
                "quantity": rng.randint(1, 5),
                "discount": rng.choice((0, 5, 10, 12.5)) if percentage else rng.choice((0, 1000)),
                "discount_type": "percentage" if percentage else "amount",
                "tax": 7.5 if method != "none" else 0,
                "tax_method": method,
            },
        )
    deal.refresh_from_db()
    return deal


class PipedriveTraffic(TrafficPlatform):
    """Deals of one company; ``signing_key`` is the connection's webhook secret, from which
    its subscription's Basic password is derived."""

    key = "pipedrive"
    delivery_timeout_seconds = 10.0

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument(
            "--reopen-share",
            type=float,
            default=REOPEN_SHARE,
            help="of the moves, the share that reopens a won deal",
        )

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        company = (
            PipedriveSandboxCompany.objects.filter(company_id=int(account_id)).first()
            if account_id.isdigit()
            else None
        )
        if company is None:
            raise ValueError(f"No sandbox company {account_id!r}")
        if not signing_key:
            raise ValueError("Pipedrive's traffic needs the connection's webhook secret")
        return cls(company=company, signing_key=signing_key, reopen_share=options["reopen_share"])

    def __init__(self, *, company, signing_key: str, reopen_share: float = REOPEN_SHARE):
        self.company = company
        self.signing_key = signing_key
        self.reopen_share = reopen_share
        self.open: list[int] = []
        self.won: list[int] = []
        self.made = Counter()

    def change_make(self, *, rng: random.Random) -> list[Event]:
        if not self.open or (len(self.open) < DEALS_MOVING and rng.random() < NEW_DEAL_SHARE):
            if self.made["deals"] >= MAX_DEALS:
                raise ValueError(f"A run makes at most {MAX_DEALS} deals")
            deal = sandbox_deal_make(company=self.company, rng=rng, number=self.made["deals"])
            self.made["deals"] += 1
            self.open.append(deal.pk)
            return [Event(webhook_payload(self.company, "create", deal, previous=None))]
        if self.won and rng.random() < self.reopen_share:
            deal_id, status = self.won.pop(rng.randrange(len(self.won))), "open"
            self.open.append(deal_id)
            self.made["reopened"] += 1
        else:
            deal_id, status = self.open.pop(rng.randrange(len(self.open))), "won"
            self.won.append(deal_id)
            self.made["won"] += 1
        deal, previous = deal_update(
            company=self.company, deal_id=deal_id, body={"status": status}, announce=False
        )
        return [Event(webhook_payload(self.company, "change", deal, previous=previous))]

    def event_retried(self, event: Event) -> Event:
        payload = copy.deepcopy(event.payload)
        payload["meta"]["attempt"] = event.attempt + 1
        return replace(event, payload=payload)

    def body(self, events: tuple[Event, ...]) -> bytes:
        (event,) = events
        return json.dumps(event.payload, separators=(",", ":")).encode()

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        return {
            "Content-Type": "application/json",
            "User-Agent": "Pipedrive Webhooks",
            "Authorization": basic_authorization(secret=self.signing_key, url=receiver.signed_url),
        }

    def counts(self) -> dict:
        return {
            **dict(self.made),
            "deals_in_company": PipedriveSandboxRecord.objects.filter(
                company=self.company, kind=Kind.DEAL
            ).count(),
        }
