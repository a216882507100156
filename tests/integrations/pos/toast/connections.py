"""A tenant wired to the FIRS sandbox with a sandbox Toast connection, and deliveries of its
orders signed as Toast signs them."""

import json

from integrations.base import sandbox_accounts
from integrations.pos.models import POSConnection
from sandboxes.toast.models import ToastSandboxRestaurant
from sandboxes.toast.webhooks import order_webhook, webhook_headers
from tests.factories import MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization


def toast_connection(*, site_url: str, organization=None) -> POSConnection:
    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    return sandbox_accounts.connection_sandbox_create(
        family="pos", platform="toast", organization=organization, user=user, site_url=site_url
    )


def restaurant_of(connection: POSConnection) -> ToastSandboxRestaurant:
    return ToastSandboxRestaurant.objects.get(restaurant_guid=connection.account_id)


def order_delivery(connection: POSConnection, order: dict, *, attempt: int = 1, secret: str = ""):
    """(body, headers) of the orders webhook about ``order``, signed with the connection's
    secret (or ``secret``)."""
    body = json.dumps(order_webhook(restaurant=restaurant_of(connection), order=order)).encode()
    headers = webhook_headers(
        body=body,
        secret=secret or connection.webhook_secret,
        restaurant_guid=connection.account_id,
        attempt=attempt,
    )
    return body, headers
