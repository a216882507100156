"""The Salesforce sandbox's semantics: orgs, sObjects (Account, Product2, Opportunity,
OpportunityLineItem) created, read and updated, the SOQL subset the connector issues, query
locators (parents and child line items paged apart), ``updated`` lists and Outbound Message
envelopes.

SOQL subset: ``SELECT <fields>[, (SELECT <fields> FROM OpportunityLineItems|
OpportunityContactRoles [ORDER BY Id])]... FROM Opportunity [WHERE <terms joined by AND>]
[ORDER BY SystemModstamp, Id]``; a term is ``Id = '<id>'``, ``IsWon = true|false``,
``SystemModstamp >|>=|= <datetime>`` or ``(SystemModstamp > <t> OR (SystemModstamp = <t> AND
Id > '<id>'))``. Fields are the object's own, ``Account.<field>``, and in the child queries
``Product2.<field>`` / ``Contact.<field>``. Anything else is MALFORMED_QUERY.
"""

import re
import secrets
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from django.db import transaction
from django.utils import timezone

from sandboxes.salesforce.api import SalesforceError
from sandboxes.salesforce.models import (
    SalesforceSandboxLocator,
    SalesforceSandboxOrg,
    SalesforceSandboxRecord,
    record_id,
)

VERSION = "v62.0"
DATA = f"/services/data/{VERSION}"
PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "OpportunityContactRole": "00K",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "Product2": "01t",
}
WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
CENT = Decimal("0.01")
QUERY_PATTERN = re.compile(
    r"SELECT (?P<fields>.+?)(?P<subs>(?:, \(SELECT [^()]+? FROM \w+(?: ORDER BY Id)?\))*)"
    r" FROM Opportunity(?: WHERE (?P<where>.+?))?(?: ORDER BY SystemModstamp, Id)?",
    re.DOTALL,
)
SUB_PATTERN = re.compile(
    r", \(SELECT (?P<fields>[^()]+?) FROM (?P<relation>\w+)(?: ORDER BY Id)?\)"
)
# Child relationships a query may nest: relationship name -> the child object.
CHILDREN = {
    "OpportunityLineItems": "OpportunityLineItem",
    "OpportunityContactRoles": "OpportunityContactRole",
}
DATETIME = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?Z)"
COMPOUND = re.compile(
    rf"\(SystemModstamp > {DATETIME} OR \(SystemModstamp = {DATETIME} AND Id > '(\w{{15,18}})'\)\)"
)
TERMS = (
    (re.compile(r"Id = '(\w{15,18})'"), "id"),
    (re.compile(r"IsWon = (true|false)"), "won"),
    (re.compile(rf"SystemModstamp (>=|>|=) {DATETIME}"), "stamp"),
)
FIELD_PATTERN = re.compile(r"(?:Account\.|Product2\.|Contact\.)?[A-Za-z][A-Za-z0-9_]*")


def malformed(message: str) -> SalesforceError:
    return SalesforceError(message, code="MALFORMED_QUERY")


# --- orgs and records ------------------------------------------------------------------------


def sandbox_org_create(*, redirect_uri: str = "", api_max: int = 100_000) -> SalesforceSandboxOrg:
    return SalesforceSandboxOrg.objects.create(
        org_id=record_id("00D"),
        user_id=record_id("005"),
        client_id=f"3MVG9{secrets.token_urlsafe(24)}",
        client_secret=secrets.token_hex(32),
        redirect_uri=redirect_uri,
        api_max=api_max,
        action_id=record_id("04k"),
    )


def record_create(*, org, object_type: str, fields: dict) -> SalesforceSandboxRecord:
    if object_type not in PREFIXES:
        raise SalesforceError(f"sObject type '{object_type}' is not supported", code="NOT_FOUND")
    values = _checked(object_type, fields)
    parent = ""
    with transaction.atomic():
        if object_type == "OpportunityContactRole":
            parent = record_get(org, "Opportunity", values.get("OpportunityId")).sf_id
            record_get(org, "Contact", values.get("ContactId"))
            values.setdefault("IsPrimary", False)
        if object_type == "OpportunityLineItem":
            opportunity = record_get(org, "Opportunity", values.get("OpportunityId"))
            product = record_get(org, "Product2", values.get("Product2Id"))
            parent = opportunity.sf_id
            values.setdefault(
                "Name", f"{opportunity.fields.get('Name', '')} {product.fields['Name']}"
            )
            values.setdefault("ProductCode", product.fields.get("ProductCode"))
            values.setdefault("ListPrice", values.get("UnitPrice"))
        if object_type == "Opportunity":
            values.update(_stage_flags(values.get("StageName") or "Prospecting"))
        record = SalesforceSandboxRecord.objects.create(
            org=org,
            object_type=object_type,
            sf_id=record_id(PREFIXES[object_type]),
            parent_id=parent,
            fields=values,
            system_modstamp=timezone.now(),
        )
        if parent:
            _touch(org, parent)
    return record


def record_update(*, org, object_type: str, sf_id: str, fields: dict) -> SalesforceSandboxRecord:
    values = _checked(object_type, fields)
    with transaction.atomic():
        record = record_get(org, object_type, sf_id, for_update=True)
        if object_type == "Opportunity" and "StageName" in values:
            values.update(_stage_flags(values["StageName"]))
        record.fields = {**record.fields, **values}
        record.system_modstamp = timezone.now()
        record.save(update_fields=["fields", "system_modstamp"])
        if record.parent_id:
            _touch(org, record.parent_id)
    return record


def record_json(org, record: SalesforceSandboxRecord, fields: list[str] | None = None) -> dict:
    """The record as the REST API shows it (every field, or those asked)."""
    shown = {"Id": record.sf_id, **_computed(org, record), "SystemModstamp": stamp(record)}
    if fields:
        shown = {name: shown.get(name) for name in ["Id", *fields]}
    return {"attributes": _attributes(record.object_type, record.sf_id), **shown}


def _checked(object_type: str, fields: dict) -> dict:
    values = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not FIELD_PATTERN.fullmatch(name) or "." in name:
            raise SalesforceError(f"No such column '{name}'", code="INVALID_FIELD")
        if name in ("Id", "SystemModstamp", "IsWon", "IsClosed", "TotalPrice"):
            raise SalesforceError(
                f"Unable to create/update fields: {name}", code="INVALID_FIELD_FOR_INSERT_UPDATE"
            )
        if isinstance(value, float | int) and not isinstance(value, bool):
            value = str(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
        values[name] = value
    return values


def _stage_flags(stage: str) -> dict:
    return {
        "StageName": stage,
        "IsWon": stage == WON_STAGE,
        "IsClosed": stage in (WON_STAGE, LOST_STAGE),
    }


def record_get(org, object_type: str, sf_id, *, for_update=False) -> SalesforceSandboxRecord:
    records = SalesforceSandboxRecord.objects.filter(org=org, object_type=object_type, sf_id=sf_id)
    record = (records.select_for_update() if for_update else records).first()
    if record is None:
        raise SalesforceError("The requested resource does not exist", status=404, code="NOT_FOUND")
    return record


def _touch(org, opportunity_id: str) -> None:
    SalesforceSandboxRecord.objects.filter(
        org=org, object_type="Opportunity", sf_id=opportunity_id
    ).update(system_modstamp=timezone.now())


def _computed(org, record) -> dict:
    fields = dict(record.fields)
    for name, value in list(fields.items()):
        if isinstance(value, str) and name in NUMBER_FIELDS:
            fields[name] = float(Decimal(value))
    if record.object_type == "OpportunityLineItem":
        fields["TotalPrice"] = float(line_total(record))
    if record.object_type == "Opportunity":
        lines = SalesforceSandboxRecord.objects.filter(
            parent_id=record.sf_id, object_type="OpportunityLineItem"
        )
        if lines:
            fields["Amount"] = float(sum((line_total(line) for line in lines), Decimal(0)))
    return fields


NUMBER_FIELDS = frozenset({"Quantity", "UnitPrice", "ListPrice", "Discount", "Amount"})


def line_total(line) -> Decimal:
    quantity = Decimal(line.fields.get("Quantity") or 0)
    price = Decimal(line.fields.get("UnitPrice") or 0)
    discount = Decimal(line.fields.get("Discount") or 0)
    gross = quantity * price
    return (gross - gross * discount / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def stamp(record) -> str:
    moment = record.system_modstamp.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _attributes(object_type: str, sf_id: str) -> dict:
    return {"type": object_type, "url": f"{DATA}/sobjects/{object_type}/{sf_id}"}


def updated_ids(*, org, start: datetime, end: datetime) -> dict:
    ids = SalesforceSandboxRecord.objects.filter(
        org=org, object_type="Opportunity", system_modstamp__gte=start, system_modstamp__lt=end
    ).values_list("sf_id", flat=True)
    return {"ids": list(ids), "latestDateCovered": end.strftime("%Y-%m-%dT%H:%M:00.000+0000")}


# --- SOQL --------------------------------------------------------------------------------------


def query(*, org, soql: str, batch_size: int) -> dict:
    match = QUERY_PATTERN.fullmatch(" ".join(soql.split()))
    if match is None:
        raise malformed("The sandbox answers only the connector's Opportunity queries")
    select = {"fields": _field_list(match["fields"]), "children": {}}
    for sub in SUB_PATTERN.finditer(match["subs"] or ""):
        if sub["relation"] not in CHILDREN:
            raise malformed(f"Didn't understand relationship '{sub['relation']}'")
        select["children"][sub["relation"]] = _field_list(sub["fields"])
    records = SalesforceSandboxRecord.objects.filter(org=org, object_type="Opportunity")
    for term in _terms(match["where"] or ""):
        records = records.filter(term)
    ids = list(records.order_by("system_modstamp", "sf_id").values_list("sf_id", flat=True))
    return _page(org, kind="parent", ids=ids, select=select, batch_size=batch_size, total=len(ids))


def query_more(*, org, locator: str, offset: int) -> dict:
    found = SalesforceSandboxLocator.objects.filter(org=org, locator=locator).first()
    if found is None or not 0 < offset <= len(found.ids):
        raise SalesforceError("invalid query locator", code="INVALID_QUERY_LOCATOR")
    ids = found.ids[offset:]
    if found.kind == "child":
        return _child_page(org, found, offset=offset)
    return _page(
        org,
        kind="parent",
        ids=ids,
        select=found.select,
        batch_size=found.batch_size,
        total=len(found.ids),
        locator=found,
        offset=offset,
    )


def _page(org, *, kind, ids, select, batch_size, total, locator=None, offset=0) -> dict:
    batch = ids[:batch_size]
    answer = {"totalSize": total, "done": len(ids) <= batch_size, "records": []}
    if not answer["done"]:
        if locator is None:
            locator = SalesforceSandboxLocator.objects.create(
                org=org,
                locator=record_id("01g"),
                kind=kind,
                ids=ids,
                select=select,
                batch_size=batch_size,
            )
        answer["nextRecordsUrl"] = f"{DATA}/query/{locator.locator}-{offset + batch_size}"
    by_id = {
        record.sf_id: record
        for record in SalesforceSandboxRecord.objects.filter(org=org, sf_id__in=batch)
    }
    answer["records"] = [
        _opportunity_json(org, by_id[sf_id], select) for sf_id in batch if sf_id in by_id
    ]
    return answer


def _opportunity_json(org, record, select) -> dict:
    own = [name for name in select["fields"] if "." not in name]
    shown = record_json(org, record, own)
    account_fields = [
        name.split(".", 1)[1] for name in select["fields"] if name.startswith("Account.")
    ]
    if account_fields:
        account_id = record.fields.get("AccountId")
        account = SalesforceSandboxRecord.objects.filter(
            org=org, object_type="Account", sf_id=account_id or ""
        ).first()
        shown["Account"] = record_json(org, account, account_fields) if account else None
    for relation, fields in select["children"].items():
        child_ids = list(
            SalesforceSandboxRecord.objects.filter(
                org=org, parent_id=record.sf_id, object_type=CHILDREN[relation]
            )
            .order_by("sf_id")
            .values_list("sf_id", flat=True)
        )
        if not child_ids:
            shown[relation] = None
            continue
        locator = SalesforceSandboxLocator(
            org=org,
            locator=record_id("01g"),
            kind="child",
            ids=child_ids,
            select={"fields": fields},
            batch_size=org.child_batch_size,
        )
        if len(child_ids) > org.child_batch_size:
            locator.save()
        shown[relation] = _child_page(org, locator, offset=0)
    return shown


def _child_page(org, locator, *, offset: int) -> dict:
    ids = locator.ids[offset : offset + locator.batch_size]
    done = offset + locator.batch_size >= len(locator.ids)
    lines = {r.sf_id: r for r in SalesforceSandboxRecord.objects.filter(org=org, sf_id__in=ids)}
    answer = {
        "totalSize": len(locator.ids),
        "done": done,
        "records": [_child_json(org, lines[sf_id], locator.select["fields"]) for sf_id in ids],
    }
    if not done:
        answer["nextRecordsUrl"] = f"{DATA}/query/{locator.locator}-{offset + locator.batch_size}"
    return answer


def _child_json(org, child, fields: list[str]) -> dict:
    """A line item or contact role, with the parent fields asked (``Product2.Name``,
    ``Contact.Email``)."""
    own = [name for name in fields if "." not in name]
    shown = record_json(org, child, own)
    for relation in ("Product2", "Contact"):
        wanted = [name.split(".", 1)[1] for name in fields if name.startswith(f"{relation}.")]
        if not wanted:
            continue
        parent = SalesforceSandboxRecord.objects.filter(
            org=org, sf_id=child.fields.get(f"{relation}Id") or ""
        ).first()
        shown[relation] = (
            {
                "attributes": _attributes(relation, parent.sf_id),
                **{name: parent.fields.get(name) for name in wanted},
            }
            if parent
            else None
        )
    return shown


def _field_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(FIELD_PATTERN.fullmatch(name) for name in names):
        raise malformed(f"Unknown fields in '{text[:100]}'")
    return names


def _terms(where: str):
    from django.db.models import Q

    compound = COMPOUND.search(where)
    remaining = where.replace(compound.group(0), "(compound)") if compound else where
    for term in (part.strip() for part in remaining.split(" AND ")):
        if compound and term == "(compound)":
            later, same, last_id = compound.groups()
            if later != same:
                raise malformed("The compound cursor compares two different times")
            moment = _moment(later)
            yield Q(system_modstamp__gt=moment) | Q(system_modstamp=moment, sf_id__gt=last_id)
            continue
        for pattern, kind in TERMS:
            found = pattern.fullmatch(term)
            if found is None:
                continue
            if kind == "id":
                yield Q(sf_id=found[1])
            elif kind == "won":
                yield Q(fields__IsWon=found[1] == "true")
            else:
                lookup = {">=": "gte", ">": "gt", "=": "exact"}[found[1]]
                yield Q(**{f"system_modstamp__{lookup}": _moment(found[2])})
            break
        else:
            raise malformed(f"The sandbox does not answer the condition '{term[:100]}'")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- Outbound Messages -------------------------------------------------------------------------


def outbound_message(*, org, notifications: list[tuple[str, dict]]) -> bytes:
    """The SOAP envelope of an Outbound Message: (notification id, Opportunity fields) each."""
    parts = []
    for notification_id, fields in notifications:
        values = "".join(
            f"<sf:{name}>{escape(_xml_value(value))}</sf:{name}>" for name, value in fields.items()
        )
        parts.append(
            f"<Notification><Id>{notification_id}</Id>"
            '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            f"{values}</sObject></Notification>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org.org_id}</OrganizationId><ActionId>{org.action_id}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{DATA}/Soap/c/62.0/{org.org_id[:15]}</EnterpriseUrl>"
        f"<PartnerUrl>{DATA}/Soap/u/62.0/{org.org_id[:15]}</PartnerUrl>"
        f"{''.join(parts)}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def notification_fields(org, record) -> dict:
    shown = record_json(org, record)
    return {
        name: shown.get(name)
        for name in ("Id", "AccountId", "Amount", "IsWon", "StageName", "SystemModstamp")
    }


def _xml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
