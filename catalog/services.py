"""Classification writes: validate and save an item's classification, import them from CSV,
apply them to a sale's lines, and record the lines whose charged tax disagrees."""

import csv
import io
import re
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import Action, audit_changes, audit_record
from catalog.models import ProductClassification, TaxAlert
from integrations.base.canonical import Deal, Line, Sale
from invoices import selectors as invoice_selectors
from invoices.codes import STANDARD_VAT, CodeLists, hs_code_normalize

VatTreatment = ProductClassification.VatTreatment
CSV_COLUMNS = ("platform", "item_key", "name", "hs_code", "product_category", "vat_treatment")
# A CSV file is read whole: past this many rows it is refused, not half-imported.
CSV_MAX_ROWS = 10_000
# What a classification is, as the audit trail records its changes.
CLASSIFIED_FIELDS = ("hs_code", "product_category", "vat_treatment")
# An import's audit event names this many changed items, then how many more.
IMPORT_CHANGES_RECORDED = 200


@dataclass(frozen=True)
class ClassificationInput:
    hs_code: str
    product_category: str
    vat_treatment: str


def hs_code_clean(hs_code: str, *, codes: CodeLists | None = None) -> str:
    """The code as NNNN.NNNN when it is on the FIRS HS code or VAT-exemption list; ValidationError
    naming it otherwise (a made-up code would be signed as it is)."""
    codes = codes or invoice_selectors.code_lists()
    digits = hs_code_normalize(hs_code)
    if len(digits) != 8 or not codes.is_known_hs_code(digits):
        raise ValidationError(hs_code_error(hs_code))
    return f"{digits[:4]}.{digits[4:]}"


def line_code_clean(code: str) -> str:
    """A code put on lines whose item is not classified (a connection's default): an HS code on
    the FIRS list (NNNN.NNNN), or a four-digit ISIC class, which FIRS takes for a service.
    ValidationError otherwise."""
    code = code.strip()
    if re.fullmatch(r"[0-9]{4}", code):
        return code
    return hs_code_clean(code)


def hs_code_error(hs_code: str) -> str:
    return (
        f"{hs_code.strip()} is not on the FIRS HS code list; use an eight-digit code like "
        "1006.3000 from the list"
    )


def classification_validate(
    *, hs_code: str, product_category: str, vat_treatment: str, codes: CodeLists | None = None
) -> ClassificationInput:
    """The input cleaned (HS code as NNNN.NNNN), or ValidationError naming each bad field.

    The HS code must be on the FIRS HS code or VAT-exemption list, and "exempt" is for codes on
    the exemption list only (and "standard" for the others). Unclassified takes no code.
    """
    codes = codes or invoice_selectors.code_lists()
    errors: dict[str, str] = {}
    if vat_treatment not in VatTreatment.values:
        errors["vat_treatment"] = (
            f"{vat_treatment!r} is not a VAT treatment; use one of {', '.join(VatTreatment.values)}"
        )
    digits = hs_code_normalize(hs_code)
    cleaned_code = f"{digits[:4]}.{digits[4:]}" if len(digits) == 8 else hs_code.strip()
    if vat_treatment != VatTreatment.UNCLASSIFIED or hs_code.strip():
        if not hs_code.strip():
            errors["hs_code"] = "A classified item needs an HS code"
        elif len(digits) != 8 or not codes.is_known_hs_code(digits):
            errors["hs_code"] = hs_code_error(hs_code)
        elif vat_treatment == VatTreatment.EXEMPT and not codes.is_vat_exempt(digits):
            errors["vat_treatment"] = (
                f"{cleaned_code} is not on the FIRS VAT-exemption list, so the item is "
                "standard-rated"
            )
        elif vat_treatment == VatTreatment.STANDARD and codes.is_vat_exempt(digits):
            errors["vat_treatment"] = (
                f"{cleaned_code} is on the FIRS VAT-exemption list, so the item is VAT-exempt"
            )
    if vat_treatment != VatTreatment.UNCLASSIFIED and not product_category.strip():
        errors["product_category"] = "A classified item needs a product category"
    if len(product_category) > 255:
        errors["product_category"] = "At most 255 characters"
    if errors:
        raise ValidationError(errors)
    return ClassificationInput(
        hs_code=cleaned_code if digits else "",
        product_category=product_category.strip(),
        vat_treatment=vat_treatment,
    )


@transaction.atomic
def classification_update(
    *,
    classification: ProductClassification,
    hs_code: str,
    product_category: str,
    vat_treatment: str,
    actor=None,
) -> ProductClassification:
    """Classify an item (validated); raises ValidationError and changes nothing when invalid.
    A change is recorded in the audit trail with ``actor``, who made it."""
    cleaned = classification_validate(
        hs_code=hs_code, product_category=product_category, vat_treatment=vat_treatment
    )
    before = {name: getattr(classification, name) for name in CLASSIFIED_FIELDS}
    classification.hs_code = cleaned.hs_code
    classification.product_category = cleaned.product_category
    classification.vat_treatment = cleaned.vat_treatment
    classification.save(update_fields=[*CLASSIFIED_FIELDS, "updated_at"])
    _classified_record(classification=classification, before=before, actor=actor)
    return classification


@transaction.atomic
def classification_operator_save(
    *, classification: ProductClassification, actor
) -> ProductClassification:
    """An operator's save of the admin form (already checked by ``classification_validate``),
    recorded like a tenant's edit."""
    before = ProductClassification.objects.filter(pk=classification.pk).values(
        *CLASSIFIED_FIELDS
    ).first() or dict.fromkeys(CLASSIFIED_FIELDS, "")
    classification.save()
    _classified_record(classification=classification, before=before, actor=actor)
    return classification


def _classified_record(*, classification: ProductClassification, before: dict, actor) -> None:
    changes = audit_changes(
        model=ProductClassification,
        before=before,
        after={name: getattr(classification, name) for name in CLASSIFIED_FIELDS},
    )
    if changes:
        audit_record(
            action=Action.PRODUCT_CLASSIFIED,
            actor=actor,
            organization=classification.organization_id,
            target=classification,
            changes=changes,
        )


def classification_ensure(
    *,
    organization,
    platform: str,
    item_key: str,
    name: str,
    hs_code: str,
    product_category: str,
    vat_treatment: str,
) -> ProductClassification:
    """The item's classification, created (validated) when missing or still unclassified; one
    the tenant made is kept as it is."""
    cleaned = classification_validate(
        hs_code=hs_code, product_category=product_category, vat_treatment=vat_treatment
    )
    classification, _ = ProductClassification.objects.get_or_create(
        organization=organization, platform=platform, item_key=item_key, defaults={"name": name}
    )
    if not classification.is_classified:
        classification.hs_code = cleaned.hs_code
        classification.product_category = cleaned.product_category
        classification.vat_treatment = cleaned.vat_treatment
        classification.save(
            update_fields=["hs_code", "product_category", "vat_treatment", "updated_at"]
        )
    return classification


def classifications_import_csv(*, organization, text: str, actor=None) -> int:
    """Create or update the classifications of a CSV export (columns ``CSV_COLUMNS``).

    All or nothing: every row is checked first, and one bad row refuses the file with a
    ValidationError naming each bad row and field. Returns the number of rows saved. One audit
    event records who imported it and the items it changed (``platform:item_key`` -> its HS
    code, category and treatment before and after; past IMPORT_CHANGES_RECORDED, a count).
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"The CSV file has no column {', '.join(missing)}")
    codes = invoice_selectors.code_lists()
    rows, errors = [], []
    for number, row in enumerate(reader, start=2):
        if number - 1 > CSV_MAX_ROWS:
            raise ValidationError(f"The CSV file has more than {CSV_MAX_ROWS} rows")
        platform = (row.get("platform") or "").strip()
        item_key = (row.get("item_key") or "").strip()
        name = (row.get("name") or "").strip() or item_key
        if not platform or not item_key:
            errors.append(f"Row {number}: platform and item_key are required")
            continue
        if len(platform) > 32 or len(item_key) > 255 or len(name) > 255:
            errors.append(f"Row {number}: platform, item_key or name is too long")
            continue
        try:
            cleaned = classification_validate(
                hs_code=row.get("hs_code") or "",
                product_category=row.get("product_category") or "",
                vat_treatment=(row.get("vat_treatment") or "").strip(),
                codes=codes,
            )
        except ValidationError as error:
            errors.extend(
                f"Row {number}, {field}: {' '.join(messages)}"
                for field, messages in error.message_dict.items()
            )
            continue
        rows.append((platform, item_key, name, cleaned))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        stored = {
            (row["platform"], row["item_key"]): [row[name] for name in CLASSIFIED_FIELDS]
            for row in ProductClassification.objects.filter(organization=organization).values(
                "platform", "item_key", *CLASSIFIED_FIELDS
            )
        }
        changes = {}
        for platform, item_key, name, cleaned in rows:
            ProductClassification.objects.update_or_create(
                organization=organization,
                platform=platform,
                item_key=item_key,
                defaults={
                    "name": name,
                    "hs_code": cleaned.hs_code,
                    "product_category": cleaned.product_category,
                    "vat_treatment": cleaned.vat_treatment,
                },
            )
            after = [cleaned.hs_code, cleaned.product_category, cleaned.vat_treatment]
            before = stored.get((platform, item_key))
            if before != after:
                changes[f"{platform}:{item_key}"] = [before, after]
        if changes:
            recorded = dict(list(changes.items())[:IMPORT_CHANGES_RECORDED])
            if len(changes) > IMPORT_CHANGES_RECORDED:
                recorded["more items"] = [None, len(changes) - IMPORT_CHANGES_RECORDED]
            audit_record(
                action=Action.PRODUCTS_IMPORTED,
                actor=actor,
                organization=organization,
                changes=recorded,
            )
    return len(rows)


def source_classifications(
    *, organization, platform: str, source: Sale | Deal
) -> dict[str, ProductClassification]:
    """The classifications of the source's items by item key, adding the items not seen
    before (unclassified)."""
    if not source.lines:
        return {}
    return _classifications_for(organization=organization, platform=platform, lines=source.lines)


def source_classified(
    *,
    organization,
    platform: str,
    source: Sale | Deal,
    classifications: dict[str, ProductClassification] | None = None,
) -> Sale | Deal:
    """The sale or deal with each line described by its item's classification
    (``classifications``: from ``source_classifications``, read here when not given).

    Items not seen before are added unclassified. A classified item's HS code and category
    replace the connection's defaults; its VAT treatment gives the line a rate only when the
    platform said nothing of the line's tax (an exempt item then carries none). Tax the
    platform charged is never changed.
    """
    if not source.lines:
        return source
    if classifications is None:
        classifications = source_classifications(
            organization=organization, platform=platform, source=source
        )
    lines = tuple(
        _line_classified(line, classifications.get(line.item_key[:255])) for line in source.lines
    )
    return replace(source, lines=lines)


def tax_alerts_record(
    *,
    organization,
    platform: str,
    source: Sale | Deal,
    reference: str = "",
    classifications: dict[str, ProductClassification] | None = None,
) -> list[TaxAlert]:
    """Open (or count again) an alert for each item whose charged tax disagrees with its
    classification: VAT on an exempt item, none on a standard one, a rate other than the
    standard one. Lines whose platform said nothing of their tax are checked for their rate
    only. ``classifications``: as ``source_classified`` takes them."""
    codes = invoice_selectors.code_lists()
    standard_percent = codes.tax_percent(STANDARD_VAT)
    kinds_by_key: dict[str, set[str]] = {}
    other_rates: dict[str, Decimal] = {}
    for line in source.lines:
        kind = _disagreement(line, standard_percent=standard_percent)
        if kind:
            kinds_by_key.setdefault(line.item_key[:255], set()).add(kind)
        if kind == TaxAlert.Kind.OTHER_RATE:
            other_rates[line.item_key[:255]] = line.tax_rate
    if not kinds_by_key:
        return []
    if classifications is None:
        classifications = source_classifications(
            organization=organization, platform=platform, source=source
        )
    now = timezone.now()
    alerts = []
    for item_key, kinds in kinds_by_key.items():
        classification = classifications[item_key]
        for kind in sorted(kinds):
            if kind != TaxAlert.Kind.OTHER_RATE and not classification.is_classified:
                continue
            if not _kind_applies(kind, classification):
                continue
            alert, _ = TaxAlert.objects.get_or_create(
                classification=classification,
                kind=kind,
                defaults={"organization": organization, "last_seen_at": now},
            )
            TaxAlert.objects.filter(pk=alert.pk).update(
                count=F("count") + 1,
                last_seen_at=now,
                last_source_reference=reference[:255],
                last_tax_rate=other_rates.get(item_key)
                if kind == TaxAlert.Kind.OTHER_RATE
                else None,
                resolved_at=None,
            )
            alert.refresh_from_db()
            alerts.append(alert)
    return alerts


def _disagreement(line: Line, *, standard_percent: Decimal | None) -> str:
    """The kind of disagreement the line's charged tax could have with a classification."""
    if line.tax_rate and line.tax_rate != standard_percent and line.tax_amount != 0:
        # Signed at that rate, as charged (or computed at it when the platform gave no amount).
        return TaxAlert.Kind.OTHER_RATE
    if line.tax_amount is None:
        return ""
    return TaxAlert.Kind.VAT_ON_EXEMPT if line.tax_amount else TaxAlert.Kind.NO_VAT_ON_STANDARD


def _kind_applies(kind: str, classification: ProductClassification) -> bool:
    if kind == TaxAlert.Kind.VAT_ON_EXEMPT:
        return classification.vat_treatment == VatTreatment.EXEMPT
    if kind == TaxAlert.Kind.NO_VAT_ON_STANDARD:
        return classification.vat_treatment == VatTreatment.STANDARD
    return True


def tax_alert_resolve(*, alert: TaxAlert) -> TaxAlert:
    """Close an alert: the tenant has dealt with it. A later disagreeing sale opens it again."""
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["resolved_at"])
    return alert


def _classifications_for(
    *, organization, platform: str, lines: tuple[Line, ...]
) -> dict[str, ProductClassification]:
    """The classifications of the lines' items, adding the items not seen before."""
    names = {line.item_key[:255]: line.name[:255] for line in lines}
    found = {
        classification.item_key: classification
        for classification in ProductClassification.objects.filter(
            organization=organization, platform=platform, item_key__in=list(names)
        )
    }
    unseen = [key for key in names if key not in found]
    if unseen:
        ProductClassification.objects.bulk_create(
            [
                ProductClassification(
                    organization=organization, platform=platform, item_key=key, name=names[key]
                )
                for key in unseen
            ],
            ignore_conflicts=True,
        )
        for classification in ProductClassification.objects.filter(
            organization=organization, platform=platform, item_key__in=unseen
        ):
            found[classification.item_key] = classification
    return found


def _line_classified(line: Line, classification: ProductClassification | None) -> Line:
    if classification is None or not classification.is_classified:
        return line
    changes: dict = {
        "hs_code": classification.hs_code,
        "product_category": classification.product_category,
    }
    if (
        line.tax_amount is None
        and line.tax_rate is None
        and classification.vat_treatment == VatTreatment.EXEMPT
    ):
        changes["tax_rate"] = Decimal(0)
    return replace(line, **changes)
