"""What the Square tests share: the code lists, an unsaved supplier to build invoices with, and
calls to the Square sandbox.

Module-level, not fixtures: hypothesis reruns a test body, not function-scoped fixtures.
"""

import uuid

from accounts.models import Organization
from invoices.codes import CodeLists

CODES = CodeLists.from_snapshot()
SUPPLIER = Organization(
    legal_name="Oja Oyinbo Mart Limited",
    tin="12345678-0001",
    contact_email="receipts@ojaoyinbomart.ng",
    street_name="22 Ring Road",
    city_name="Ibadan",
    postal_zone="200273",
    country="NG",
    firs_service_id="TPT12345",
    firs_business_id=uuid.UUID("c4f09d7e-2b61-4a8e-9f35-0e7d1b6a2c48"),
)

SANDBOX = "/sandbox/square"


def ngn(amount: int) -> dict:
    return {"amount": amount, "currency": "NGN"}


def sandbox_call(client, method: str, path: str, body=None, *, token: str, headers=None):
    """Call the Square sandbox as a Square client would: a GET's ``body`` is its query string,
    anything else's is JSON."""
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    if method == "get":
        return client.get(SANDBOX + path, data=body or {}, headers=headers)
    return getattr(client, method)(
        SANDBOX + path, data=body, content_type="application/json", headers=headers
    )


def sandbox_error(response) -> dict:
    """The one error of a Square error answer."""
    [error] = response.json()["errors"]
    return error
