"""What the Lightspeed tests share: the samples, read as exact decimals, and Lightspeed's spec
examples (New Zealand GST at 15 %) charged at the Nigerian VAT rate instead."""

import copy
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
NIGERIAN_VAT = Decimal("0.075")
CENT = Decimal("0.01")


def sample(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def at_nigerian_vat(sale: dict) -> dict:
    """The sale with each line's tax 7.5 % of its price (kept to 5 places, as Lightspeed keeps
    it) and the sale's tax their sum to the cent; prices stay Lightspeed's."""
    sale = copy.deepcopy(sale)
    total = Decimal(0)
    for line in sale.get("line_items", []):
        quantity = Decimal(str(line["quantity"]))
        unit_tax = (Decimal(str(line["price"])) * NIGERIAN_VAT).quantize(Decimal("0.00001"))
        line_tax = unit_tax * quantity
        line.update(tax=unit_tax, unit_tax=unit_tax, tax_total=line_tax, total_tax=line_tax)
        line["tax_components"] = [
            {**component, "total_tax": line_tax} for component in line.get("tax_components", [])
        ]
        total += line_tax
    sale["total_tax"] = total.quantize(CENT, rounding=ROUND_HALF_UP)
    return sale


def lightspeed_connection(*, site_url: str, organization=None):
    """A sandbox Lightspeed connection of a tenant whose FIRS points at this site's sandbox."""
    from integrations.base import sandbox_accounts
    from tests.factories import MembershipFactory
    from tests.invoices.pipeline_support import sandbox_organization

    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    return sandbox_accounts.connection_sandbox_create(
        family="pos", platform="lightspeed", organization=organization, user=user, site_url=site_url
    )


def store_of(connection):
    from sandboxes.lightspeed.models import LightspeedSandboxStore

    return LightspeedSandboxStore.objects.get(domain_prefix=connection.account_id)


def closed_sale(connection, **changes):
    """A sale closed at once in the connection's sandbox store (no webhook sent)."""
    import random

    from sandboxes.lightspeed.server import sandbox_sale_save
    from sandboxes.lightspeed.traffic import sale_request

    store = store_of(connection)
    body = {**sale_request(store=store, rng=random.Random(7)), "status": "CLOSED", **changes}
    return sandbox_sale_save(store=store, body=body, notify=False)
