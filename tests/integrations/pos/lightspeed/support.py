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
