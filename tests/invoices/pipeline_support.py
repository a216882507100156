"""Shared set-up for the invoice pipeline tests: a tenant wired to the FIRS sandbox, and sales."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.base.canonical import Deal, Line, Party, Sale, SaleKind
from sandboxes.firs.server import sandbox_credential_create
from tests.factories import OrganizationFactory

LAGOS = ZoneInfo("Africa/Lagos")
SANDBOX_KEY = "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
SANDBOX_SECRET = "pipeline-canary-secret-77c1"
BUSINESS_ID = "3f6c1a2b-8d4e-4f9a-b1c2-d3e4f5a6b7c8"
SERVICE_ID = "TPT12345"


def public_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sandbox_organization(*, base_url: str, **overrides):
    """An organization whose FIRS settings point at the sandbox, with a key the sandbox accepts."""
    sandbox_credential_create(
        api_key=SANDBOX_KEY,
        api_secret=SANDBOX_SECRET,
        label="pipeline tests",
        business_id=BUSINESS_ID,
        service_id=SERVICE_ID,
    )
    fields = {
        "legal_name": "Ibadan Provisions Ltd",
        "tin": "20198222-0002",
        "firs_business_id": BUSINESS_ID,
        "firs_service_id": SERVICE_ID,
        "contact_email": "accounts@provisions.example",
        "telephone": "+2348031234567",
        "street_name": "12 Ring Road",
        "city_name": "Ibadan",
        "postal_zone": "200001",
        "state": "NG-OY",
        "firs_base_url": base_url,
        "firs_api_key": SANDBOX_KEY,
        "firs_api_secret": SANDBOX_SECRET,
        "firs_public_key": public_key_pem(),
        "firs_certificate": "c2FuZGJveC1jZXJ0aWZpY2F0ZQ==",
        **overrides,
    }
    return OrganizationFactory(**fields)


def pos_sale(number: int = 1, *, kind: SaleKind = SaleKind.SALE, customer: Party | None = None):
    """A VAT-inclusive basket as the till charged it: rice (no VAT) and detergent (7.5 %)."""
    return Sale(
        external_id=f"sq-order-{number}",
        occurred_at=datetime(2026, 11, 20, 14, 30, tzinfo=LAGOS),
        currency="NGN",
        lines=(
            Line(
                name="Rice 5kg",
                quantity=Decimal("2"),
                unit_price=Decimal("9500.00"),
                hs_code="1006.3000",
                product_category="Food",
                tax_amount=Decimal("0.00"),
            ),
            Line(
                name="Detergent",
                quantity=Decimal("1"),
                unit_price=Decimal("4515.00"),
                hs_code="3402.2000",
                product_category="Household",
                tax_amount=Decimal("315.00"),
            ),
        ),
        total=Decimal("23515.00"),
        prices_include_tax=True,
        kind=kind,
        customer=customer,
        payment_means=("10",),
    )


def won_deal(number: int = 1) -> Deal:
    """A B2B deal won in the CRM: invoiced on closing, so unpaid until the buyer pays."""
    closed_at = datetime(2026, 11, 20, 10, 0, tzinfo=LAGOS)
    return Deal(
        external_id=f"D-{number}",
        name="Annual support plan",
        stage="closedwon",
        pipeline="default",
        amount=Decimal("480000.00"),
        currency="NGN",
        closed_at=closed_at,
        modified_at=closed_at,
        lines=(
            Line(
                name="Annual support plan",
                quantity=Decimal(1),
                unit_price=Decimal("480000.00"),
                hs_code="6209",
                product_category="IT support services",
            ),
        ),
        buyer=Party(
            name="Savannah Agro-Allied Processors Limited",
            tin="17402958-0001",
            email="accounts.payable@savannahagro.com.ng",
            telephone="+2349062345678",
            street_name="Plot 1021 Aminu Kano Crescent",
            city_name="Wuse II",
            postal_zone="900288",
            state="NG-FC",
        ),
        is_won=True,
    )
