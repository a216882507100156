"""Odoo's part of the sandbox traffic (sandboxes/kit/traffic.py): customer invoices posted in a
sandbox database, now and then a credit note of one of them or the payment of one, each
announced as the automation rule "Send Webhook Notification" announces it: one unsigned POST per
record, never retried.

``move_random_vals`` makes the mixed invoices the tests post too: standard, price-included,
exempt and zero-rated lines, discounts, sections, NGN or USD.
"""

import json
import random
from dataclasses import replace

from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform
from sandboxes.odoo import server
from sandboxes.odoo.models import OdooSandboxDatabase, OdooSandboxRecord

CREDIT_NOTE_SHARE = 0.1
PAYMENT_SHARE = 0.15
MAX_LINES = 4


def move_random_vals(database, rng: random.Random, *, currency: str = "") -> dict:
    """``account.move`` create values of a customer invoice with 1 to 4 product lines."""
    taxes = list(
        server.records_of(database, "account.tax").order_by("pk").values_list("pk", flat=True)
    )
    partners = list(
        server.records_of(database, "res.partner").order_by("pk").values_list("pk", flat=True)
    )
    products = list(server.records_of(database, "product.product").order_by("pk"))
    lines = []
    if rng.random() < 0.2:
        lines.append([0, 0, {"display_type": "line_section", "name": "Goods and services"}])
    for _ in range(rng.randint(1, MAX_LINES)):
        product = rng.choice(products)
        lines.append(
            [
                0,
                0,
                {
                    "product_id": product.pk,
                    "quantity": rng.choice((1, 1, 2, 3, 7, 0.5)),
                    "price_unit": product.values["list_price"],
                    "discount": rng.choice((0, 0, 0, 5, 12.5)),
                    "tax_ids": [[6, 0, [rng.choice(taxes)]]],
                },
            ]
        )
    return {
        "move_type": "out_invoice",
        "partner_id": rng.choice(partners),
        "currency_id": server.currency_id_for(
            database, currency or rng.choice(("NGN",) * 4 + ("USD",))
        ),
        "invoice_line_ids": lines,
    }


def credit_note_vals(database, original_id: int, rng: random.Random) -> dict:
    """A credit note of part of the original: its first product line, once."""
    original = server.records_of(database, "account.move", [original_id]).get()
    line = (
        server.records_of(database, "account.move.line", original.values["invoice_line_ids"])
        .filter(values__display_type="product")
        .order_by("pk")
        .first()
    )
    return {
        "move_type": "out_refund",
        "partner_id": original.values["partner_id"],
        "currency_id": original.values["currency_id"],
        "reversed_entry_id": original_id,
        "invoice_line_ids": [
            [
                0,
                0,
                {
                    "product_id": line.values["product_id"],
                    "quantity": line.values["quantity"],
                    "price_unit": line.values["price_unit"],
                    "discount": line.values["discount"],
                    "tax_ids": [[6, 0, line.values["tax_ids"]]],
                },
            ]
        ],
    }


class OdooTraffic(TrafficPlatform):
    """Invoices posted in one sandbox database; Odoo signs nothing, so no key is needed."""

    key = "odoo"
    # Odoo's automation rule waits 1 s for an answer.
    delivery_timeout_seconds = 1.0

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument(
            "--credit-note-share",
            type=float,
            default=CREDIT_NOTE_SHARE,
            help="the chance a change is a credit note of an earlier invoice",
        )
        parser.add_argument(
            "--payment-share",
            type=float,
            default=PAYMENT_SHARE,
            help="the chance a change is the payment of an earlier unpaid invoice",
        )

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        database = OdooSandboxDatabase.objects.filter(name=account_id.rpartition("@")[0]).first()
        if database is None:
            raise ValueError(f"No sandbox database {account_id!r}")
        return cls(
            database=database,
            credit_note_share=options["credit_note_share"],
            payment_share=options.get("payment_share", PAYMENT_SHARE),
        )

    def __init__(
        self,
        *,
        database: OdooSandboxDatabase,
        credit_note_share: float = CREDIT_NOTE_SHARE,
        payment_share: float = PAYMENT_SHARE,
    ):
        self.database = database
        self.credit_note_share = credit_note_share
        self.payment_share = payment_share
        self.made = {"invoices": 0, "credit_notes": 0, "payments": 0}

    def change_make(self, *, rng: random.Random) -> list[Event]:
        invoices = server.records_of(self.database, "account.move").filter(
            values__move_type="out_invoice", values__state="posted"
        )
        if rng.random() < self.payment_share:
            unpaid = invoices.filter(values__payment_state="not_paid").order_by("?").first()
            if unpaid is not None:
                server.moves_pay(self.database, [unpaid.pk], notify=False)
                self.made["payments"] += 1
                row = OdooSandboxRecord.objects.get(pk=unpaid.pk)
                return [Event(payload=json.loads(server.webhook_body(row)))]
        original = invoices.order_by("?").first() if rng.random() < self.credit_note_share else None
        vals = (
            credit_note_vals(self.database, original.pk, rng)
            if original is not None
            else move_random_vals(self.database, rng)
        )
        [move_id] = server.call(
            self.database, "account.move", "create", ids=None, named={"vals_list": [vals]}
        )
        server.moves_post(self.database, [move_id], notify=False)
        self.made["credit_notes" if original is not None else "invoices"] += 1
        row = OdooSandboxRecord.objects.get(pk=move_id)
        return [Event(payload=json.loads(server.webhook_body(row)))]

    def event_retried(self, event: Event) -> Event:
        # Odoo never retries: a copy is the same POST again.
        return replace(event, attempt=event.attempt + 1)

    def body(self, events: tuple[Event, ...]) -> bytes:
        return json.dumps(events[0].payload, sort_keys=True, default=str).encode()

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        return {"Content-Type": "application/json", "User-Agent": "python-requests (Odoo)"}

    def counts(self) -> dict:
        return dict(self.made)
