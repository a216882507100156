"""FIRS MBS sandbox: the endpoints FirsClient calls, answering as MBS does.

Mounted at /sandbox/firs/ when ``settings.SANDBOX_ENABLED``, with the real API's paths below.
The keys it accepts are ``FirsSandboxCredential`` rows (``sandbox_credential_create``). MBS's
HTTP conventions (envelopes, keys, faults) are in ``sandboxes/firs/api.py``, on the sandbox kit;
this module is MBS's own semantics: validation, signing, transmission and its state.

Where MBS behaviour is unverified the sandbox picks the most likely answer:
- a duplicate IRN answers 400 with FIRS's "try again later" details plus a field error naming the
  IRN (shapes reported by integrators); a key's ``ambiguous_duplicates`` drops the field error;
- ``transmit`` is idempotent, and the sandbox plays the buyer's APP: delivered on transmit,
  confirmed when the buyer PATCHes ``/transmit/{irn}``.
"""

import base64
import functools
import json
import re
import secrets
import uuid
from datetime import date

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.utils import timezone

from invoices.codes import SNAPSHOT_PATH, CodeLists
from sandboxes.firs.api import BUSY_DETAILS, MbsError, api, envelope
from sandboxes.firs.models import FirsSandboxCredential, FirsSandboxInvoice
from sandboxes.kit.faults import cache_key, faults_get, faults_reset, faults_set
from sandboxes.kit.models import SandboxFaults

FAULTS_CACHE_KEY = cache_key(sandbox="firs")

# The three statements FirsClient's every sale makes the sandbox run, one statement each (the
# names are the models' own). A validated invoice is remembered, again and again, until its IRN
# is signed; signing registers it (from validated or from nothing) and counts it in the key's
# accepted IRNs, or, when the IRN is already registered, in its duplicate submissions.
_INVOICES = FirsSandboxInvoice._meta.db_table
_CREDENTIALS = FirsSandboxCredential._meta.db_table
_VALIDATED = FirsSandboxInvoice.Status.VALIDATED.value
REGISTERED_SQL = (
    f"SELECT 1 FROM {_INVOICES} WHERE credential_id = %s AND irn = %s "  # noqa: S608
    f"AND status <> '{_VALIDATED}' LIMIT 1"
)
VALIDATED_SQL = f"""
    INSERT INTO {_INVOICES} AS invoice (credential_id, irn, business_id, payload, status,
        payment_status, payment_reference, validated_at, updated_at)
    VALUES (%(credential)s, %(irn)s, %(business_id)s::uuid, %(payload)s::jsonb, '{_VALIDATED}',
        '{FirsSandboxInvoice.PaymentStatus.PENDING.value}', '', %(now)s, %(now)s)
    ON CONFLICT (credential_id, irn) DO UPDATE SET payload = EXCLUDED.payload,
        business_id = EXCLUDED.business_id, validated_at = EXCLUDED.validated_at,
        updated_at = EXCLUDED.updated_at
    WHERE invoice.status = '{_VALIDATED}'
    RETURNING 1
"""  # noqa: S608
SIGNED_SQL = f"""
    WITH registered AS (
        INSERT INTO {_INVOICES} AS invoice (credential_id, irn, business_id, payload, status,
            payment_status, payment_reference, signed_at, updated_at)
        VALUES (%(credential)s, %(irn)s, %(business_id)s::uuid, %(payload)s::jsonb,
            '{FirsSandboxInvoice.Status.SIGNED.value}', %(payment_status)s, '', %(now)s, %(now)s)
        ON CONFLICT (credential_id, irn) DO UPDATE SET payload = EXCLUDED.payload,
            business_id = EXCLUDED.business_id, payment_status = EXCLUDED.payment_status,
            status = EXCLUDED.status, signed_at = EXCLUDED.signed_at,
            updated_at = EXCLUDED.updated_at
        WHERE invoice.status = '{_VALIDATED}'
        RETURNING 1
    ), counted AS (
        UPDATE {_CREDENTIALS}
        SET accepted_irns = accepted_irns + (SELECT count(*) FROM registered),
            duplicate_submissions = duplicate_submissions + 1 - (SELECT count(*) FROM registered)
        WHERE id = %(credential)s
    )
    SELECT count(*) FROM registered
"""  # noqa: S608

# A local copy of MBS's IRN shape (invoice number, service id, date); invoices/irn.py owns the
# SI's version.
IRN_PATTERN = re.compile(r"^([A-Za-z0-9]+)-([A-Za-z0-9]{8})-(\d{8})$", re.ASCII)
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
TIME_PATTERN = re.compile(r"^\d{2}:\d{2}:\d{2}$", re.ASCII)
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$", re.ASCII)


# ISIC Rev.4 classes SIs use most; the live list has every 4-digit class.
SERVICE_CODES = [
    {"code": "4711", "description": "Retail sale in non-specialized stores"},
    {"code": "5610", "description": "Restaurants and mobile food service activities"},
    {"code": "6201", "description": "Computer programming activities"},
    {"code": "6202", "description": "Computer consultancy and computer facilities management"},
    {"code": "6209", "description": "Other information technology and computer service activities"},
    {"code": "6920", "description": "Accounting, bookkeeping and auditing activities"},
    {"code": "7020", "description": "Management consultancy activities"},
    {"code": "8549", "description": "Other education n.e.c."},
]

HEADER_FIELDS = (
    "business_id",
    "irn",
    "issue_date",
    "invoice_type_code",
    "document_currency_code",
    "accounting_supplier_party",
    "accounting_customer_party",
    "legal_monetary_total",
    "invoice_line",
)
OPTIONAL_DATE_FIELDS = ("due_date", "tax_point_date", "actual_delivery_date")
MONETARY_TOTAL_FIELDS = (
    "line_extension_amount",
    "tax_exclusive_amount",
    "tax_inclusive_amount",
    "payable_amount",
)
LINE_FIELDS = (
    "hsn_code",
    "product_category",
    "invoiced_quantity",
    "line_extension_amount",
    "item",
    "price",
)


# --- credentials, faults, counters ---------------------------------------------------------


def sandbox_faults() -> SandboxFaults:
    """The fault switches FIRS plays for every key (the kit's schema and store)."""
    return faults_get(sandbox="firs")


def sandbox_faults_set(**changes) -> SandboxFaults:
    """Switch faults, e.g. ``sandbox_faults_set(server_error_rate=1)``; others stay as they are.
    ValidationError on an unknown name or a bad value."""
    return faults_set(sandbox="firs", changes=changes)


def sandbox_faults_reset() -> None:
    faults_reset(sandbox="firs")


def sandbox_credential_create(
    *,
    api_key: str,
    api_secret: str,
    label: str = "",
    business_id: uuid.UUID | str | None = None,
    service_id: str = "",
) -> FirsSandboxCredential:
    credential = FirsSandboxCredential(
        api_key=api_key, label=label, business_id=business_id, service_id=service_id
    )
    credential.set_secret(api_secret)
    credential.save()
    return credential


def sandbox_organization_connect(*, organization, base_url: str) -> FirsSandboxCredential:
    """Point an organization's FIRS settings at this sandbox with fresh keys (the demo's set-up).

    Rotates the key pair on every call, so re-running the demo set-up never leaves a stale secret.
    """
    api_key, api_secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
    if organization.firs_business_id is None:
        organization.firs_business_id = uuid.uuid4()
    FirsSandboxCredential.objects.filter(label=f"demo: {organization.pk}").delete()
    credential = sandbox_credential_create(
        api_key=api_key,
        api_secret=api_secret,
        label=f"demo: {organization.pk}",
        business_id=organization.firs_business_id,
        service_id=organization.firs_service_id,
    )
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    organization.firs_base_url = base_url
    organization.firs_api_key = api_key
    organization.firs_api_secret = api_secret
    organization.firs_public_key = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    organization.firs_certificate = base64.b64encode(secrets.token_bytes(48)).decode()
    # The sandbox issued these keys for this business: they are verified by construction.
    organization.firs_verified_at = timezone.now()
    organization.save()
    return credential


def sandbox_stats(*, credential: FirsSandboxCredential) -> dict:
    credential.refresh_from_db()
    by_status = dict(
        credential.invoices.values_list("status").annotate(count=Count("id")).order_by()
    )
    return {
        "accepted_irns": credential.accepted_irns,
        "duplicate_submissions": credential.duplicate_submissions,
        "dropped_replies": credential.dropped_replies,
        "invoices": by_status,
    }


# --- invoice operations --------------------------------------------------------------------


def sandbox_irn_validate(*, credential: FirsSandboxCredential, request_body: dict) -> None:
    for field in ("business_id", "invoice_reference", "irn"):
        if _blank(request_body.get(field)):
            raise MbsError(f"{field} is required")
    irn = request_body["irn"]
    problem = _business_problem(request_body["business_id"], credential) or _irn_problem(
        irn, credential, path="irn"
    )
    if problem:
        raise MbsError(problem)
    if IRN_PATTERN.match(irn).group(1) != request_body["invoice_reference"]:
        raise MbsError("invoice_reference does not match the invoice number in the irn")
    with connection.cursor() as cursor:
        cursor.execute(REGISTERED_SQL, [credential.pk, irn])
        registered = cursor.fetchone() is not None
    if registered:
        raise _duplicate_error(credential)


def sandbox_invoice_validate(*, credential: FirsSandboxCredential, invoice: dict) -> None:
    """A dry run: nothing is registered, but the sandbox remembers the invoice as validated."""
    if not _invoice_write(VALIDATED_SQL, credential=credential, invoice=invoice):
        raise _duplicate_error(credential)  # the IRN is already signed


def sandbox_invoice_sign(*, credential: FirsSandboxCredential, invoice: dict) -> None:
    payment_status = invoice.get("payment_status") or FirsSandboxInvoice.PaymentStatus.PENDING
    if not _invoice_write(
        SIGNED_SQL, credential=credential, invoice=invoice, payment_status=payment_status
    ):
        raise _duplicate_error(credential)


def _invoice_write(sql: str, *, credential: FirsSandboxCredential, invoice: dict, **extra) -> bool:
    """Run one of the invoice statements above on a valid invoice; whether it took effect."""
    _raise_if_invalid(invoice, credential)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "credential": credential.pk,
                "irn": invoice["irn"],
                "business_id": uuid.UUID(str(invoice["business_id"])),
                "payload": json.dumps(invoice),
                "now": timezone.now(),
                **extra,
            },
        )
        row = cursor.fetchone()
    return row is not None and all(row)


def sandbox_invoice_transmit(*, credential: FirsSandboxCredential, irn: str) -> None:
    """Idempotent; the sandbox's buyer APP receives the invoice at once (delivered)."""
    invoice = _registered_invoice(credential, irn)
    now = timezone.now()
    FirsSandboxInvoice.objects.filter(
        pk=invoice.pk, status=FirsSandboxInvoice.Status.SIGNED
    ).update(status=FirsSandboxInvoice.Status.TRANSMITTED, transmitted_at=now, updated_at=now)


def sandbox_invoice_acknowledge(*, credential: FirsSandboxCredential, irn: str) -> None:
    """The buyer confirms receipt (PATCH /transmit/{irn})."""
    invoice = _registered_invoice(credential, irn)
    if invoice.status == FirsSandboxInvoice.Status.SIGNED:
        raise MbsError("invoice has not been transmitted")
    now = timezone.now()
    FirsSandboxInvoice.objects.filter(
        pk=invoice.pk, status=FirsSandboxInvoice.Status.TRANSMITTED
    ).update(status=FirsSandboxInvoice.Status.CONFIRMED, confirmed_at=now, updated_at=now)


def sandbox_invoice_confirm(*, credential: FirsSandboxCredential, irn: str) -> dict:
    invoice = _registered_invoice(credential, irn)
    sent = invoice.status in (
        FirsSandboxInvoice.Status.TRANSMITTED,
        FirsSandboxInvoice.Status.CONFIRMED,
    )
    return {
        "irn": invoice.irn,
        "business_id": str(invoice.business_id),
        "issue_date": invoice.payload.get("issue_date"),
        "due_date": invoice.payload.get("due_date"),
        "entry_status": invoice.status,
        "payment_status": invoice.payment_status,
        "transmitted": sent,
        "delivered": sent,
        "acknowledged": invoice.status == FirsSandboxInvoice.Status.CONFIRMED,
        "signed_at": invoice.signed_at.isoformat(),
    }


def sandbox_invoice_download(*, credential: FirsSandboxCredential, irn: str) -> dict:
    invoice = _registered_invoice(credential, irn)
    return {**invoice.payload, "payment_status": invoice.payment_status}


def sandbox_invoice_update_payment(
    *, credential: FirsSandboxCredential, irn: str, request_body: dict
) -> None:
    payment_status = request_body.get("payment_status")
    if payment_status not in FirsSandboxInvoice.PaymentStatus.values:
        raise MbsError(
            "payment_status must be one of " + " ".join(FirsSandboxInvoice.PaymentStatus.values)
        )
    reference = request_body.get("reference") or ""
    if not isinstance(reference, str):
        raise MbsError("reference must be a string")
    invoice = _registered_invoice(credential, irn)
    FirsSandboxInvoice.objects.filter(pk=invoice.pk).update(
        payment_status=payment_status, payment_reference=reference, updated_at=timezone.now()
    )


def sandbox_resource(name: str) -> list | None:
    return _resource_lists().get(name)


@functools.cache
def _resource_lists() -> dict[str, list]:
    # The same FIRS snapshot our validation uses (invoices/codes.py), plus the service codes.
    snapshot = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
    lists = {
        name: body["data"]
        for name, body in snapshot.items()
        if isinstance(body, dict) and isinstance(body.get("data"), list)
    }
    lists["services-codes"] = SERVICE_CODES
    return lists


def _registered_invoices(credential: FirsSandboxCredential):
    return FirsSandboxInvoice.objects.filter(credential=credential).exclude(
        status=FirsSandboxInvoice.Status.VALIDATED
    )


def _registered_invoice(credential: FirsSandboxCredential, irn: str) -> FirsSandboxInvoice:
    invoice = _registered_invoices(credential).filter(irn=irn).first()
    if invoice is None:
        raise MbsError(
            f"invoice with irn {irn} not found", status=404, public_message="resource not found"
        )
    return invoice


def _duplicate_error(credential: FirsSandboxCredential) -> MbsError:
    if credential.ambiguous_duplicates:
        return MbsError(BUSY_DETAILS)
    return MbsError(
        BUSY_DETAILS, field_errors=({"field": "invoice.irn", "message": "already exists"},)
    )


# --- invoice validation (MBS wording: field paths like invoicerequest.invoice.invoiceline[0]) --


def _raise_if_invalid(invoice: dict, credential: FirsSandboxCredential) -> None:
    problem = invoice_problem(invoice, credential=credential)
    if problem:
        raise MbsError(problem)


def invoice_problem(invoice: dict, *, credential: FirsSandboxCredential) -> str | None:
    """The first reason MBS would reject the invoice, in MBS's wording; None when it passes.

    Totals are not recomputed: the MBS sandbox did not enforce them in 2025 (its official
    sample's own figures do not add up).
    """
    codes = CodeLists.from_snapshot()
    return (
        _missing(invoice, HEADER_FIELDS)
        or _business_problem(invoice["business_id"], credential)
        or _irn_problem(invoice["irn"], credential, path=_path("irn"))
        or _date_problem(invoice["issue_date"], _path("issue_date"))
        or _first(
            _date_problem(invoice[field], _path(field))
            for field in OPTIONAL_DATE_FIELDS
            if field in invoice
        )
        or _time_problem(invoice.get("issue_time"))
        or _code_problem(
            invoice["invoice_type_code"],
            codes.is_known_invoice_type,
            path=_path("invoice_type_code"),
            kind="invoice type code",
        )
        or _first(
            _code_problem(
                invoice[field], codes.is_known_currency, path=_path(field), kind="currency code"
            )
            for field in ("document_currency_code", "tax_currency_code")
            if field in invoice
        )
        or _payment_status_problem(invoice.get("payment_status"))
        or _first(
            _party_problem(invoice[role], role)
            for role in (
                "accounting_supplier_party",
                "accounting_customer_party",
                "payee_party",
                "tax_representative_party",
            )
            if role in invoice and not _anonymous_b2c_buyer(invoice, role)
        )
        or _monetary_total_problem(invoice["legal_monetary_total"])
        or _lines_problem(invoice["invoice_line"])
        or _tax_total_problem(invoice.get("tax_total"), codes)
        or _payment_means_problem(invoice.get("payment_means"), codes)
        or _billing_reference_problem(invoice.get("billing_reference"))
    )


def _path(*parts) -> str:
    text = "invoicerequest.invoice"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else "." + part.replace("_", "")
    return text


def _first(problems) -> str | None:
    return next((problem for problem in problems if problem), None)


def _blank(value) -> bool:
    return value is None or value in ("", [], {})


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _missing(container: dict, fields, *prefix) -> str | None:
    return _first(
        f"{_path(*prefix, field)} is required" for field in fields if _blank(container.get(field))
    )


def _numbers_problem(container: dict, fields, *prefix) -> str | None:
    return _first(
        f"{_path(*prefix, field)} must be a number"
        for field in fields
        if not _is_number(container.get(field))
    )


def _business_problem(value, credential: FirsSandboxCredential) -> str | None:
    text = str(value)
    try:
        business_id = uuid.UUID(text)
    except ValueError:
        return f"invalid UUID length: {len(text)}" if len(text) != 36 else "invalid UUID format"
    if credential.business_id and business_id != credential.business_id:
        return "business not found for this entity"
    return None


def _irn_problem(irn, credential: FirsSandboxCredential, *, path: str) -> str | None:
    match = IRN_PATTERN.match(irn) if isinstance(irn, str) else None
    if match is None:
        return f"{path} must follow the irn template {{invoice number}}-{{service id}}-{{yyyymmdd}}"
    try:
        date(int(match[3][:4]), int(match[3][4:6]), int(match[3][6:]))
    except ValueError:
        return f"{path} must end in a valid date yyyymmdd"
    if credential.service_id and match[2] != credential.service_id:
        return f"{path} does not match the irn template of this business"
    return None


def _date_problem(value, path: str) -> str | None:
    if isinstance(value, str) and DATE_PATTERN.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return f"{path} must be a valid date value yyyy-mm-dd (e.g: 2024-04-29)"


def _time_problem(value) -> str | None:
    if value is None or (isinstance(value, str) and TIME_PATTERN.match(value)):
        return None
    return f"{_path('issue_time')} must be a valid time value hh:mm:ss"


def _code_problem(value, is_known, *, path: str, kind: str) -> str | None:
    """A value that must be on one of the FIRS resource lists."""
    if isinstance(value, str) and is_known(value):
        return None
    return f"{path} must be a valid {kind}, refer to the invoice resource apis"


def _payment_status_problem(value) -> str | None:
    if value is None or value in FirsSandboxInvoice.PaymentStatus.values:
        return None
    allowed = " ".join(FirsSandboxInvoice.PaymentStatus.values)
    return f"{_path('payment_status')} must be one of {allowed}"


def _anonymous_b2c_buyer(invoice: dict, role: str) -> bool:
    """A walk-in buyer of a B2C sale has no TIN, and an SI must not invent one. How real MBS treats
    it has not been checked against MBS; the sandbox accepts it as the B2C reporting model
    implies."""
    buyer = invoice.get(role)
    return (
        role == "accounting_customer_party"
        and invoice.get("invoice_kind") == "B2C"
        and isinstance(buyer, dict)
        and not buyer.get("tin")
    )


def _party_problem(party, role: str) -> str | None:
    if not isinstance(party, dict):
        return f"{_path(role)} must be an object"
    problem = _missing(party, ("tin", "email"), role)
    if problem:
        return problem
    if len(str(party["tin"])) < 5:
        return f"{_path(role, 'tin')} must be at least in length or value 5"
    if "@" not in str(party["email"]):
        return f"{_path(role, 'email')} must be a valid email address"
    telephone = party.get("telephone")
    if telephone and not str(telephone).startswith("+"):
        return f"{_path(role, 'telephone')} must start with + (country code)"
    if party.get("id"):
        return None
    problem = _missing(party, ("party_name",), role)
    if problem or party.get("postal_address_id"):
        return problem
    address = party.get("postal_address")
    if not isinstance(address, dict):
        return f"{_path(role, 'postal_address')} is required"
    problem = _missing(address, ("street_name", "city_name", "country"), role, "postal_address")
    if problem:
        return problem
    if not COUNTRY_PATTERN.match(str(address["country"])):
        return (
            f"{_path(role, 'postal_address', 'country')} must be a valid country code, "
            "refer to the invoice resource apis"
        )
    return None


def _monetary_total_problem(total) -> str | None:
    if not isinstance(total, dict):
        return f"{_path('legal_monetary_total')} must be an object"
    return _numbers_problem(total, MONETARY_TOTAL_FIELDS, "legal_monetary_total")


def _lines_problem(lines) -> str | None:
    if not isinstance(lines, list):
        return f"{_path('invoice_line')} must contain at least one line"
    return _first(_line_problem(line, index) for index, line in enumerate(lines))


def _line_problem(line, index: int) -> str | None:
    prefix = ("invoice_line", index)
    if not isinstance(line, dict):
        return f"{_path(*prefix)} must be an object"
    problem = _missing(line, LINE_FIELDS, *prefix) or _numbers_problem(
        line, ("invoiced_quantity", "line_extension_amount"), *prefix
    )
    if problem:
        return problem
    item, price = line["item"], line["price"]
    if not isinstance(item, dict) or not isinstance(price, dict):
        return f"{_path(*prefix)} item and price must be objects"
    return (
        _missing(item, ("name", "description"), *prefix, "item")
        or _missing(price, ("price_unit",), *prefix, "price")
        or _numbers_problem(price, ("price_amount", "base_quantity"), *prefix, "price")
    )


def _tax_total_problem(tax_total, codes: CodeLists) -> str | None:
    if tax_total is None:
        return None
    if not isinstance(tax_total, list):
        return f"{_path('tax_total')} must be a list"
    for index, total in enumerate(tax_total):
        prefix = ("tax_total", index)
        if not isinstance(total, dict):
            return f"{_path(*prefix)} must be an object"
        problem = _numbers_problem(total, ("tax_amount",), *prefix)
        if problem:
            return problem
        for sub_index, subtotal in enumerate(total.get("tax_subtotal") or []):
            sub_prefix = (*prefix, "tax_subtotal", sub_index)
            if not isinstance(subtotal, dict) or not isinstance(subtotal.get("tax_category"), dict):
                return f"{_path(*sub_prefix, 'tax_category')} is required"
            category = subtotal["tax_category"]
            problem = (
                _numbers_problem(subtotal, ("taxable_amount", "tax_amount"), *sub_prefix)
                or _code_problem(
                    category.get("id"),
                    codes.is_known_tax_category,
                    path=_path(*sub_prefix, "tax_category", "id"),
                    kind="tax category",
                )
                or _numbers_problem(category, ("percent",), *sub_prefix, "tax_category")
            )
            if problem:
                return problem
    return None


def _payment_means_problem(payment_means, codes: CodeLists) -> str | None:
    if payment_means is None:
        return None
    if not isinstance(payment_means, list):
        return f"{_path('payment_means')} must be a list"
    return _first(
        _code_problem(
            means.get("payment_means_code") if isinstance(means, dict) else None,
            codes.is_known_payment_means,
            path=_path("payment_means", index, "payment_means_code"),
            kind="payment means code",
        )
        for index, means in enumerate(payment_means)
    )


def _billing_reference_problem(references) -> str | None:
    if references is None:
        return None
    if not isinstance(references, list):
        return f"{_path('billing_reference')} must be a list"
    for index, reference in enumerate(references):
        prefix = ("billing_reference", index)
        if not isinstance(reference, dict):
            return f"{_path(*prefix)} must be an object"
        problem = _missing(reference, ("irn", "issue_date"), *prefix) or _date_problem(
            reference["issue_date"], _path(*prefix, "issue_date")
        )
        if problem:
            return problem
        if not IRN_PATTERN.match(str(reference["irn"])):
            return f"{_path(*prefix, 'irn')} must be a valid irn"
    return None


# --- views ---------------------------------------------------------------------------------


@api.endpoint("health", authenticated=False, body=False)
def health_view(request):
    return JsonResponse({"healthy": True})


@api.endpoint("validate_irn")
def irn_validate_view(request, *, credential, body):
    sandbox_irn_validate(credential=credential, request_body=body)
    return envelope({"ok": True})


@api.endpoint("validate")
def invoice_validate_view(request, *, credential, body):
    sandbox_invoice_validate(credential=credential, invoice=body)
    return envelope({"ok": True}, code=201)


@api.endpoint("sign")
def invoice_sign_view(request, *, credential, body):
    sandbox_invoice_sign(credential=credential, invoice=body)
    return envelope({"ok": True}, code=201)


@api.endpoint("transmit", body=False)
def invoice_transmit_view(request, *, credential, irn):
    sandbox_invoice_transmit(credential=credential, irn=irn)
    return envelope({"ok": True})


@api.endpoint("acknowledge", body=False)
def invoice_acknowledge_view(request, *, credential, irn):
    sandbox_invoice_acknowledge(credential=credential, irn=irn)
    return envelope({"ok": True})


@api.endpoint("confirm", body=False)
def invoice_confirm_view(request, *, credential, irn):
    return envelope(sandbox_invoice_confirm(credential=credential, irn=irn))


@api.endpoint("download", body=False)
def invoice_download_view(request, *, credential, irn):
    return envelope(sandbox_invoice_download(credential=credential, irn=irn))


@api.endpoint("update_payment_status")
def invoice_update_view(request, *, credential, body, irn):
    sandbox_invoice_update_payment(credential=credential, irn=irn, request_body=body)
    return envelope({"ok": True})


@api.endpoint("resources", authenticated=False, body=False)
def resource_view(request, *, name):
    rows = sandbox_resource(name)
    if rows is None:
        return api.not_found(request)
    return envelope(rows)


@api.endpoint(faulted=False, counted=False, body=False)
def stats_view(request, *, credential):
    return envelope(sandbox_stats(credential=credential))
