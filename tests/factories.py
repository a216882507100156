import datetime
import hashlib
import uuid
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Invitation, Membership, Organization, User
from integrations.crm.models import CRMConnection, CRMDeal
from integrations.erp.models import ERPConnection, ERPDocument
from integrations.pos.models import POSConnection, POSTransaction
from invoices.models import Invoice

# Every test user's password, the demo user's included in browser tests.
PASSWORD = "correct horse battery"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    legal_name = factory.Sequence(lambda n: f"Business {n} Ltd")
    tin = factory.Sequence(lambda n: f"{10000000 + n:08d}-0001")
    firs_service_id = factory.Sequence(lambda n: f"SVC{n:05d}")
    contact_email = factory.Sequence(lambda n: f"accounts{n}@business.example")
    city_name = "Lagos"
    country = "NG"

    class Params:
        # Every setting FIRS needs before the organization's sales can be invoiced.
        firs_ready = factory.Trait(
            street_name="1 Marina",
            postal_zone="101001",
            firs_business_id=factory.Faker("uuid4"),
            firs_api_key="firs-test-key",
            firs_api_secret="firs-test-secret",
            firs_base_url="http://firs.invalid",
        )


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


class InvitationFactory(DjangoModelFactory):
    """A pending invitation whose link carries ``token`` (only its hash is stored)."""

    class Meta:
        model = Invitation

    class Params:
        token = factory.Sequence(lambda n: f"invitation-token-{n:06d}")

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Membership.Role.MEMBER
    invited_by = None
    token_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.token.encode()).hexdigest())
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))


class InvoiceFactory(DjangoModelFactory):
    """An invoice row as the pipeline leaves it, without running the pipeline."""

    class Meta:
        model = Invoice

    organization = factory.SubFactory(OrganizationFactory)
    source_type = Invoice.Source.POS
    source_id = factory.Sequence(lambda n: uuid.UUID(int=n + 1))
    source_reference = factory.LazyAttribute(lambda invoice: f"sq-order-{invoice.source_id.int}")
    number = factory.LazyAttribute(lambda invoice: f"POS{invoice.source_id.hex}")
    irn = factory.LazyAttribute(
        lambda invoice: f"{invoice.number}-{invoice.organization.firs_service_id}-20261120"
    )
    type_code = "381"
    kind = Invoice.Kind.B2C
    currency = "NGN"
    issue_date = datetime.date(2026, 11, 20)
    line_extension_amount = Decimal("21875.00")
    tax_exclusive_amount = Decimal("21875.00")
    tax_amount = Decimal("1640.00")
    tax_inclusive_amount = Decimal("23515.00")
    payable_amount = Decimal("23515.00")
    payload = factory.LazyAttribute(
        lambda invoice: {
            "irn": invoice.irn,
            "issue_date": invoice.issue_date.isoformat(),
            "invoice_type_code": invoice.type_code,
            "document_currency_code": invoice.currency,
            "legal_monetary_total": {"payable_amount": str(invoice.payable_amount)},
        }
    )

    class Params:
        signed = factory.Trait(
            stage=Invoice.Stage.SIGNED,
            status=Invoice.Status.SIGNED,
            validated_at=factory.LazyFunction(timezone.now),
            signed_at=factory.LazyFunction(timezone.now),
            qr_stamp="c3RhbXAtb2YtdGhlLXNpZ25lZC1pbnZvaWNl",
        )


class POSConnectionFactory(DjangoModelFactory):
    class Meta:
        model = POSConnection

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    pos_type = "square"
    location_name = "Lekki Store"
    account_id = factory.Sequence(lambda n: f"MERCHANT{n:04d}")
    base_url = "http://127.0.0.1:9/sandbox/square"
    credentials_encrypted = '{"access_token": "EAAA-canary-token"}'
    webhook_secret = "canary-signing-secret-0042"
    notification_url = factory.LazyAttribute(
        lambda c: f"https://taxpoynt.example/webhooks/pos/square/{c.account_id}/"
    )
    is_sandbox = True


class POSTransactionFactory(DjangoModelFactory):
    class Meta:
        model = POSTransaction

    connection = factory.SubFactory(POSConnectionFactory)
    external_transaction_id = factory.Sequence(lambda n: f"ORDER{n:06d}")
    transaction_amount = Decimal("3700.00")
    tax_amount = Decimal("258.14")
    transaction_timestamp = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
    currency = "NGN"


class CRMConnectionFactory(DjangoModelFactory):
    class Meta:
        model = CRMConnection

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    crm_type = "hubspot"
    connection_name = "Sales team"
    account_id = factory.Sequence(lambda n: f"{40_000_000 + n}")
    base_url = "http://127.0.0.1:9/sandbox/hubspot"
    credentials_encrypted = '{"private_app_token": "pat-na1-canary-token"}'
    webhook_secret = "canary-signing-secret-0042"
    notification_url = factory.LazyAttribute(
        lambda c: f"https://taxpoynt.example/webhooks/crm/hubspot/{c.account_id}/"
    )
    is_sandbox = True
    won_stage_ids = factory.LazyFunction(lambda: ["closedwon"])


class CRMDealFactory(DjangoModelFactory):
    class Meta:
        model = CRMDeal

    connection = factory.SubFactory(CRMConnectionFactory)
    external_deal_id = factory.Sequence(lambda n: f"{18_250_000_000 + n}")
    deal_title = "Annual support plan"
    deal_amount = Decimal("480000.00")
    deal_stage = "closedwon"
    pipeline_id = "default"
    is_won = True
    currency = "NGN"
    last_modified_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)


class ERPConnectionFactory(DjangoModelFactory):
    class Meta:
        model = ERPConnection

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    erp_type = "ledgerly"
    connection_name = "Head office books"
    account_id = factory.Sequence(lambda n: f"books-{n}")
    credentials_encrypted = '{"api_key": "ledgerly-canary-key"}'
    webhook_secret = "canary-signing-secret-0042"


class ERPDocumentFactory(DjangoModelFactory):
    class Meta:
        model = ERPDocument

    connection = factory.SubFactory(ERPConnectionFactory)
    external_document_id = factory.Sequence(lambda n: f"INV-{n:05d}")
    document_number = factory.LazyAttribute(lambda d: f"INV/2026/{d.external_document_id}")
    total_amount = Decimal("32.58")
    tax_amount = Decimal("2.28")
    document_date = factory.LazyFunction(timezone.now)
    is_posted = True
    document_state = "posted"
    currency = "NGN"
    last_modified_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
