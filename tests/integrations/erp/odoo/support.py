"""What the Odoo tests share: a tenant wired to the FIRS sandbox with a connection to a sandbox
Odoo database (19.0 through JSON-2, or 17.0 through /jsonrpc), invoices posted in it, and the
automation rule's deliveries."""

import json
import random
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from integrations.base import sandbox_accounts
from integrations.erp.models import ERPConnection
from sandboxes.odoo import server
from sandboxes.odoo.models import OdooSandboxDatabase, OdooSandboxRecord
from sandboxes.odoo.provisioning import MAPPING_DEFAULTS
from sandboxes.odoo.traffic import credit_note_vals, move_random_vals
from tests.factories import MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAJORS = (19, 17)


def sample(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def sample_records() -> dict:
    """The sample moves with what their mapping reads: lines, taxes, buyers, states."""
    return {
        "moves": sample("json2-search_read-account.move-response"),
        "lines": sample("json2-read-account.move.line-response"),
        "taxes": {tax["id"]: tax for tax in as_read(sample("json2-read-account.tax-response"))},
        "partners": {p["id"]: p for p in sample("json2-read-res.partner-response")},
        "states": {s["id"]: s for s in sample("json2-read-res.country.state-response")},
    }


def as_read(value):
    """A sample as the client reads it: numbers with a point are Decimals."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def sample_move_map(move: dict):
    from integrations.erp.odoo import mappers

    records = sample_records()
    lines = [line for line in as_read(records["lines"]) if line["move_id"][0] == move["id"]]
    return mappers.document_from_odoo(
        as_read(move),
        lines=lines,
        taxes=records["taxes"],
        partner=records["partners"].get(move["partner_id"][0]),
        states=records["states"],
        default_hs_code=MAPPING_DEFAULTS["default_hs_code"],
        default_product_category=MAPPING_DEFAULTS["default_product_category"],
    )


def odoo_connection(*, site_url: str, organization=None, major: int = 19) -> ERPConnection:
    """A sandbox Odoo connection of a tenant whose FIRS points at this site's FIRS sandbox; on
    17.0 the database is one of the versioned mount's (External RPC API only)."""
    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    connection = sandbox_accounts.connection_sandbox_create(
        family="erp", platform="odoo", organization=organization, user=user, site_url=site_url
    )
    database = database_of(connection)
    if major != database.major_version:
        database.major_version = major
        database.save(update_fields=["major_version"])
        connection.base_url = f"{connection.base_url}/{major}"
        credentials = json.loads(connection.credentials_encrypted)
        connection.credentials_encrypted = json.dumps(
            {**credentials, "base_url": connection.base_url}
        )
        connection.save(update_fields=["base_url", "credentials_encrypted"])
    return connection


def database_of(connection: ERPConnection) -> OdooSandboxDatabase:
    return OdooSandboxDatabase.objects.get(name=connection.account_id.rpartition("@")[0])


def invoice_post(connection, *, rng=None, vals=None, notify: bool = False) -> OdooSandboxRecord:
    """A random customer invoice (or these values) created and posted in the sandbox."""
    database = database_of(connection)
    vals = vals or move_random_vals(database, rng or random.Random())
    [move_id] = server.call(
        database, "account.move", "create", ids=None, named={"vals_list": [vals]}
    )
    server.moves_post(database, [move_id], notify=notify)
    return OdooSandboxRecord.objects.get(pk=move_id)


def credit_note_post(connection, original_id: int, *, notify: bool = False) -> OdooSandboxRecord:
    database = database_of(connection)
    vals = credit_note_vals(database, original_id, random.Random())
    return invoice_post(connection, vals=vals, notify=notify)


def webhook_payload(move: OdooSandboxRecord) -> dict:
    move.refresh_from_db()
    return json.loads(server.webhook_body(move))


def secret_path(connection: ERPConnection) -> str:
    return urlsplit(connection.webhook_url).path
