"""What the Square tests share: the code lists and an unsaved supplier to build invoices with.

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
