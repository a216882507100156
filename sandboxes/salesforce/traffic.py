"""Salesforce's part of the sandbox traffic (sandboxes/kit/traffic.py): Opportunities made
with 1-5 line items in a sandbox org and moved to Closed Won (now and then a won one reopened,
to be won again), each win announced as an Outbound Message in the real SOAP envelope. A retry
is the same notification again (same ``Id``), as Salesforce retries."""

import random
from collections import Counter
from dataclasses import replace

from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform
from sandboxes.salesforce.models import SalesforceSandboxOrg, SalesforceSandboxRecord, record_id
from sandboxes.salesforce.server import (
    WON_STAGE,
    notification_fields,
    outbound_message,
    record_create,
    record_update,
)

MAX_OPPORTUNITIES = 10_000
MOVING = 8
NEW_SHARE = 0.35
REOPEN_SHARE = 0.15
PRODUCTS = (
    ("POS-X", "POS terminal", 240000.0),
    ("PRN-80", "Receipt printer", 85000.0),
    ("SRV-INST", "Installation service", 50000.0),
    ("SRV-SUP", "Annual support plan", 120000.0),
    ("SCN-2D", "Barcode scanner", 42500.5),
)
CITIES = (
    ("Ikeja", "NG-LA", "100271"),
    ("Wuse", "NG-FC", "900288"),
    ("Port Harcourt", "NG-RI", "500272"),
)


def sandbox_opportunity_make(*, org, rng: random.Random, number: int):
    """An open Opportunity with 1-5 line items and an Account (mostly with a TIN)."""
    city, state, postcode = rng.choice(CITIES)
    account_fields = {
        "Name": f"Customer {number} Ltd",
        "Phone": "+2348031234567",
        "BillingStreet": f"{number + 1} Marina Road",
        "BillingCity": city,
        "BillingPostalCode": postcode,
        "BillingStateCode": state,
        "BillingCountry": "Nigeria",
    }
    if rng.random() < 0.7:
        account_fields["TIN__c"] = f"{rng.randrange(10**7, 10**8)}-0001"
    account = record_create(org=org, object_type="Account", fields=account_fields)
    opportunity = record_create(
        org=org,
        object_type="Opportunity",
        fields={
            "Name": f"Opportunity {number}",
            "StageName": "Prospecting",
            "CloseDate": "2026-12-31",
            "AccountId": account.sf_id,
        },
    )
    contact = record_create(
        org=org,
        object_type="Contact",
        fields={"Name": f"Buyer {number}", "Email": f"buyer{number}@example.ng"},
    )
    record_create(
        org=org,
        object_type="OpportunityContactRole",
        fields={"OpportunityId": opportunity.sf_id, "ContactId": contact.sf_id, "IsPrimary": True},
    )
    for code, name, price in rng.sample(PRODUCTS, rng.randint(1, 5)):
        product = _product(org, code=code, name=name)
        record_create(
            org=org,
            object_type="OpportunityLineItem",
            fields={
                "OpportunityId": opportunity.sf_id,
                "Product2Id": product.sf_id,
                "Quantity": rng.randint(1, 20),
                "UnitPrice": price,
                "Discount": rng.choice((None, None, 5, 12.5)),
            },
        )
    return opportunity


def _product(org, *, code: str, name: str):
    found = SalesforceSandboxRecord.objects.filter(
        org=org, object_type="Product2", fields__ProductCode=code
    ).first()
    return found or record_create(
        org=org, object_type="Product2", fields={"Name": name, "ProductCode": code}
    )


class SalesforceTraffic(TrafficPlatform):
    key = "salesforce"
    # Salesforce waits 60 s for an Outbound Message's answer.
    delivery_timeout_seconds = 60.0

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument(
            "--salesforce-reopen-share",
            type=float,
            default=REOPEN_SHARE,
            help="of the moves, the share that reopens a won Opportunity",
        )

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        org = SalesforceSandboxOrg.objects.filter(org_id=account_id).first()
        if org is None:
            raise ValueError(f"No sandbox org {account_id!r}")
        return cls(org=org, reopen_share=options.get("salesforce_reopen_share", REOPEN_SHARE))

    def __init__(self, *, org, reopen_share: float = REOPEN_SHARE):
        self.org = org
        self.reopen_share = reopen_share
        self.open: list[str] = []
        self.won: list[str] = []
        self.made = Counter()

    def change_make(self, *, rng: random.Random) -> list[Event]:
        if not self.open or (len(self.open) < MOVING and rng.random() < NEW_SHARE):
            if self.made["opportunities"] >= MAX_OPPORTUNITIES:
                raise ValueError(f"A run makes at most {MAX_OPPORTUNITIES} opportunities")
            opportunity = sandbox_opportunity_make(
                org=self.org, rng=rng, number=self.made["opportunities"]
            )
            self.made["opportunities"] += 1
            self.open.append(opportunity.sf_id)
            return []
        if self.won and rng.random() < self.reopen_share:
            sf_id = self.won.pop(rng.randrange(len(self.won)))
            record_update(
                org=self.org,
                object_type="Opportunity",
                sf_id=sf_id,
                fields={"StageName": "Negotiation/Review"},
            )
            self.open.append(sf_id)
            self.made["reopened"] += 1
            return []
        sf_id = self.open.pop(rng.randrange(len(self.open)))
        record = record_update(
            org=self.org, object_type="Opportunity", sf_id=sf_id, fields={"StageName": WON_STAGE}
        )
        self.won.append(sf_id)
        self.made["won"] += 1
        payload = {"id": record_id("04l"), "fields": notification_fields(self.org, record)}
        return [Event(payload)]

    def event_retried(self, event: Event) -> Event:
        return replace(event, attempt=event.attempt + 1)

    def body(self, events: tuple[Event, ...]) -> bytes:
        return outbound_message(
            org=self.org,
            notifications=[(event.payload["id"], event.payload["fields"]) for event in events],
        )

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}

    def counts(self) -> dict:
        return {
            **dict(self.made),
            "opportunities_in_org": SalesforceSandboxRecord.objects.filter(
                org=self.org, object_type="Opportunity"
            ).count(),
        }
