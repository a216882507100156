"""What the POS flow tests share: a tenant wired to the FIRS sandbox with a sandbox Square
connection, completed Square orders, and signed webhook deliveries."""

import copy
import json
import uuid

from integrations.base import sandbox_accounts
from integrations.pos.models import POSConnection
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature
from sandboxes.square.models import SquareSandboxMerchant
from sandboxes.square.server import sandbox_order_complete, sandbox_order_create
from tests.factories import MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization


def square_connection(*, site_url: str, organization=None) -> POSConnection:
    """A sandbox Square connection of a tenant whose FIRS points at this site's FIRS sandbox."""
    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    return sandbox_accounts.connection_sandbox_create(
        family="pos", platform="square", organization=organization, user=user, site_url=site_url
    )


def merchant_of(connection: POSConnection) -> SquareSandboxMerchant:
    return SquareSandboxMerchant.objects.get(merchant_id=connection.account_id)


def completed_order(connection: POSConnection, *, amounts=(250000, 120000)) -> dict:
    """A COMPLETED order of the connection's sandbox seller (amounts in kobo, VAT inclusive)."""
    merchant = merchant_of(connection)
    order = sandbox_order_create(
        merchant=merchant,
        body={
            "idempotency_key": uuid.uuid4().hex,
            "order": {
                "location_id": connection.external_location_id,
                "line_items": [
                    {
                        "name": f"Item {index}",
                        "quantity": "1",
                        "base_price_money": {"amount": amount, "currency": "NGN"},
                    }
                    for index, amount in enumerate(amounts, start=1)
                ],
            },
        },
    )
    return sandbox_order_complete(merchant=merchant, order_id=order.order_id).data


def order_event(
    connection: POSConnection, order: dict, *, event_type: str = "order.updated", event_id=""
) -> dict:
    key = "order_updated" if event_type == "order.updated" else "order_created"
    return {
        "merchant_id": connection.account_id,
        "type": event_type,
        "event_id": event_id or str(uuid.uuid4()),
        "created_at": order.get("updated_at") or order.get("created_at"),
        "data": {
            "type": "order",
            "id": order["id"],
            "object": {
                key: {
                    "order_id": order["id"],
                    "state": order["state"],
                    "version": order.get("version", 1),
                    "location_id": order["location_id"],
                }
            },
        },
    }


def signed(connection: POSConnection, envelope: dict, *, key: str = "", url: str = ""):
    """(body, headers) of a delivery of ``envelope`` signed as Square signs it."""
    body = json.dumps(envelope).encode()
    signature = square_signature(
        signature_key=key or connection.webhook_secret,
        notification_url=url or connection.notification_url,
        body=body,
    )
    return body, {SIGNATURE_HEADER: signature}


def at_nigerian_vat(order: dict) -> dict:
    """Square's sample with its (US, 9 %) taxes named 7.5 %: the amounts stay Square's."""
    order = copy.deepcopy(order)
    for tax in order.get("taxes", []):
        tax["percentage"] = "7.5"
    return order
