"""Odoo to signed e-invoices and back, over real HTTP (live_server: our webhook endpoint, the
Odoo sandbox, the FIRS sandbox), for both API flavours: invoices and credit notes posted through
the sandbox's own API, the automation rule's deliveries sent 1 to 3 times in shuffled order,
some invoices posted with no webhook at all, then the change search; every document one signed
e-invoice with Odoo's totals to the cent, each credit note naming its original's IRN, and the
IRN posted once in each invoice's chatter. Task bodies run in-process in the order a worker
would meet them."""

import json
import logging
import math
import os
import random
from decimal import Decimal

import pytest
import requests
from django.core.cache import cache

from integrations.base import pipeline
from integrations.base.models import InboundEvent
from integrations.erp import services as erp_services
from integrations.erp.models import ERPDocument
from integrations.erp.tasks import irn_write_back_task
from invoices import services as invoice_services
from invoices.models import Invoice
from invoices.tasks import invoice_advance
from sandboxes.odoo.models import OdooSandboxRecord, OdooSandboxWebhook
from sandboxes.odoo.traffic import move_random_vals
from tests.integrations.erp.odoo.support import MAJORS, database_of, odoo_connection

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

# ODOO_E2E_INVOICES=50 runs the acceptance's full count (50 invoices, 5 credit notes).
INVOICES = int(os.environ.get("ODOO_E2E_INVOICES", "10"))
CREDIT_NOTES = max(2, INVOICES // 10)
LINE_FIELDS = ["display_type", "product_id", "quantity", "price_unit", "discount", "tax_ids"]
CENT = Decimal("0.01")
WITHOUT_WEBHOOK = max(3, INVOICES // 5)
SIGNED = (Invoice.Stage.SIGNED, Invoice.Stage.TRANSMITTED, Invoice.Stage.CONFIRMED)


class OdooApi:
    """The sandbox reached as a tenant's script would reach Odoo: JSON-2 or /jsonrpc."""

    def __init__(self, connection, major: int):
        credentials = json.loads(connection.credentials_encrypted)
        self.base_url, self.major = credentials["base_url"], major
        self.database, self.key = credentials["database"], credentials["api_key"]

    def __call__(self, model: str, method: str, *, ids=None, **named):
        if self.major >= 19:
            body = {**named, **({"ids": ids} if ids is not None else {})}
            answer = requests.post(
                f"{self.base_url}/json/2/{model}/{method}",
                json=body,
                headers={"Authorization": f"bearer {self.key}", "X-Odoo-Database": self.database},
                timeout=15,
            )
            answer.raise_for_status()
            return answer.json()
        args = [ids] if ids is not None else []
        envelope = requests.post(
            f"{self.base_url}/jsonrpc",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {
                    "service": "object",
                    "method": "execute_kw",
                    "args": [self.database, 2, self.key, model, method, args, named],
                },
            },
            timeout=15,
        ).json()
        assert "error" not in envelope, envelope
        return envelope["result"]

    def post(self, vals: dict) -> int:
        [move_id] = self("account.move", "create", vals_list=[vals])
        self("account.move", "action_post", ids=[move_id])
        return move_id


def _latencies_log(major: int, rows) -> None:
    """Received -> signed of each document, logged (``--log-cli-level=INFO`` shows it)."""
    seconds = sorted((row.signed_at - row.received_at).total_seconds() for row in rows)
    p99 = seconds[max(0, math.ceil(len(seconds) * 0.99) - 1)]
    logger.info(
        "odoo %s: %s signed, received->signed p50 %.2f s, p99 %.2f s",
        major,
        len(seconds),
        seconds[len(seconds) // 2],
        p99,
    )


@pytest.fixture
def queued(monkeypatch):
    """What the pipeline hands to the queues, to be run here in turn."""
    sent = []
    for task in (invoice_advance, irn_write_back_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, task=task: sent.append((task.name, kwargs)),
        )
    return sent


def _drain(queued: list) -> None:
    while queued:
        name, kwargs = queued.pop(0)
        if name == invoice_advance.name:
            invoice_services.invoice_advance(
                invoice_id=kwargs["invoice_id"], claim_token=f"t-{kwargs['invoice_id']}"
            )
        else:
            erp_services.document_irn_write_back(document_id=kwargs["document_id"])


def _mixed_vals(database, rng: random.Random, number: int) -> dict:
    """Every few invoices: one in USD; all of them mixing the sandbox's four taxes."""
    vals = move_random_vals(database, rng, currency="USD" if number % 4 == 3 else "NGN")
    taxes = list(
        OdooSandboxRecord.objects.filter(database=database, model="account.tax")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    products = [line for line in vals["invoice_line_ids"] if "product_id" in line[2]]
    for index, line in enumerate(products):
        line[2]["tax_ids"] = [[6, 0, [taxes[(number + index) % len(taxes)]]]]
        line[2]["discount"] = 10 if (number + index) % 3 == 0 else line[2]["discount"]
    return vals


def _credit_note_vals(api: OdooApi, original: int) -> dict:
    """A credit note of the original's first line, read back through the API."""
    [move] = api("account.move", "read", ids=[original], fields=["invoice_line_ids", "partner_id"])
    lines = api("account.move.line", "read", ids=move["invoice_line_ids"], fields=LINE_FIELDS)
    line = next(line for line in lines if line["display_type"] == "product")
    values = {name: line[name] for name in ("quantity", "price_unit", "discount")}
    values |= {"product_id": line["product_id"][0], "tax_ids": [[6, 0, line["tax_ids"]]]}
    return {
        "move_type": "out_refund",
        "partner_id": move["partner_id"][0],
        "reversed_entry_id": original,
        "invoice_line_ids": [[0, 0, values]],
    }


@pytest.mark.parametrize("major", MAJORS)
def test_posted_invoices_and_credit_notes_become_signed_e_invoices_once(live_server, queued, major):
    cache.clear()
    connection = odoo_connection(site_url=live_server.url, major=major)
    database = database_of(connection)
    database.webhook_url, database.webhooks_held = connection.webhook_url, True
    database.save()
    api, rng = OdooApi(connection, major), random.Random(major)

    invoices = []
    for number in range(INVOICES):
        # The automation rule is off for the last few: only the change search finds them.
        database.webhook_url = (
            "" if number >= INVOICES - WITHOUT_WEBHOOK else connection.webhook_url
        )
        database.save(update_fields=["webhook_url"])
        invoices.append(api.post(_mixed_vals(database, rng, number)))
    database.webhook_url = connection.webhook_url
    database.save(update_fields=["webhook_url"])
    credit_notes = [
        api.post(_credit_note_vals(api, original)) for original in invoices[:CREDIT_NOTES]
    ]

    deliveries = [
        bytes(body)
        for body in OdooSandboxWebhook.objects.filter(database=database).values_list(
            "body", flat=True
        )
    ]
    assert len(deliveries) == INVOICES - WITHOUT_WEBHOOK + CREDIT_NOTES
    copies = [body for body in deliveries for _ in range(rng.randint(1, 3))]
    rng.shuffle(copies)
    for body in copies:
        answer = requests.post(
            connection.webhook_url,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=15,
        )
        assert answer.status_code == 200
    events = list(InboundEvent.objects.filter(connection_id=connection.pk).order_by("?"))
    assert len(events) == len(deliveries)
    for event in events:
        pipeline.event_process(family="erp", event_id=event.pk, claim_token=f"e-{event.pk}")
    assert pipeline.connection_sync(family="erp", connection_id=connection.pk) == "synced"
    _drain(queued)

    documents = {
        int(row.external_document_id): row
        for row in ERPDocument.objects.filter(connection=connection).select_related("invoice")
    }
    assert sorted(documents) == sorted(invoices + credit_notes)
    moves = {
        move["id"]: move
        for move in api(
            "account.move",
            "search_read",
            domain=[["id", "in", invoices + credit_notes]],
            fields=["amount_untaxed", "amount_tax", "amount_total", "reversed_entry_id"],
        )
    }
    for move_id, row in documents.items():
        invoice = row.invoice
        assert invoice.stage in SIGNED, (move_id, invoice.problems)
        move = moves[move_id]
        assert invoice.payable_amount == Decimal(str(move["amount_total"])).quantize(
            Decimal("0.01")
        )
        assert invoice.tax_amount == Decimal(str(move["amount_tax"])).quantize(Decimal("0.01"))
        if move["reversed_entry_id"]:
            original = documents[move["reversed_entry_id"][0]].invoice
            assert (invoice.purpose, invoice.billing_reference_irn) == ("credit_note", original.irn)
    assert Invoice.objects.filter(source_id__in=[row.pk for row in documents.values()]).count() == (
        len(documents)
    )

    _latencies_log(major, documents.values())

    # The write-back ran once per document; running it again writes nothing.
    for row in documents.values():
        erp_services.document_irn_write_back(document_id=row.pk)
    for move_id, row in documents.items():
        messages = api(
            "mail.message",
            "search_read",
            domain=[["model", "=", "account.move"], ["res_id", "=", move_id]],
            fields=["body", "attachment_ids"],
        )
        assert len(messages) == 1 and row.invoice.irn in messages[0]["body"], move_id
        assert len(messages[0]["attachment_ids"]) == 1
