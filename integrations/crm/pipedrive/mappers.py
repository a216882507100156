"""Pipedrive's JSON -> our canonical shapes: webhooks v2 deliveries into events, API v2 deals with
their products, person and organization into ``Deal``s.

Money arrives as JSON numbers in major units; each is taken as the shortest decimal that reads
back as the same number (the digits Pipedrive wrote) and is ``Decimal`` from there on. A deal
product's price, quantity and discount make its line; its ``sum`` is not trusted (Pipedrive
describes it loosely) and its tax is computed from ``tax`` (a percentage) the way the deal's
``tax_method`` says, one method for every product of a deal.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from integrations.base.canonical import Deal, Line, Party
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import json_body, list_at, mapping, shown, text_at, timestamp

CENT = Decimal("0.01")
WON = "won"
STATUSES = ("open", "won", "lost", "deleted")
TAX_METHODS = ("exclusive", "inclusive", "none")
DISCOUNT_TYPES = ("percentage", "amount")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}", re.ASCII)
COUNTRY_CODE_PATTERN = re.compile(r"[A-Za-z]{2}", re.ASCII)
STATE_CODE_PATTERN = re.compile(r"NG-[A-Z]{2}", re.ASCII)
NIGERIA_NAMES = frozenset({"nigeria", "federal republic of nigeria", "ng"})
# Meta ids are strings in webhooks v2, numbers in some of Pipedrive's examples: both are read.
MAX_ID_LENGTH = 255


# --- webhooks v2 ---------------------------------------------------------------------------


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The one event of a delivery: webhooks v2 (ours are made so), or a v1 subscription a
    tenant made themselves, read as the v2 event it stands for. MappingError on anything else."""
    document = mapping(json_body(body), "the webhook body")
    meta = mapping(document.get("meta"), "meta")
    if meta.get("v") == 1 and "version" not in meta:
        return [_v1_event(document, meta)]
    version = meta.get("version")
    if version != "2.0":
        raise MappingError(f"meta.version is {shown(version)}, not the webhooks v2 '2.0'")
    action = _word(meta, "action", path="meta")
    entity = _word(meta, "entity", path="meta")
    for key in ("data", "previous"):
        if document.get(key) is not None:
            mapping(document[key], key)
    return [
        WebhookEvent(
            event_id=_meta_id(meta, "id"),
            event_type=f"{action}.{entity}",
            account_id=_meta_id(meta, "company_id"),
            object_id=_meta_id(meta, "entity_id"),
            payload=document,
        )
    ]


V1_ACTIONS = {"added": "create", "updated": "change", "deleted": "delete", "merged": "change"}


def _v1_event(document: Mapping, meta: Mapping) -> WebhookEvent:
    """A v1 body (``current`` and the whole ``previous``) as v2 shows it: ``previous`` keeps
    only the changed fields. v1 has no event id: the subscription, object and microsecond."""
    action = V1_ACTIONS.get(text_at(meta, "action", path="meta"))
    entity = _word(meta, "object", path="meta")
    if action is None:
        raise MappingError(f"meta.action is {shown(meta.get('action'))}")
    current = mapping(document["current"], "current") if document.get("current") else None
    before = mapping(document["previous"], "previous") if document.get("previous") else None
    previous = before
    if current is not None and before is not None:
        previous = {key: value for key, value in before.items() if current.get(key) != value}
    object_id = _meta_id(meta, "id")
    moment = meta.get("timestamp_micro") or meta.get("timestamp")
    return WebhookEvent(
        event_id=f"v1:{_meta_id(meta, 'webhook_id')}:{object_id}:{shown(moment)}",
        event_type=f"{action}.{entity}",
        account_id=_meta_id(meta, "company_id"),
        object_id=object_id,
        payload={
            "data": current,
            "previous": previous,
            "meta": {**meta, "action": action, "entity": entity, "entity_id": object_id},
        },
    )


def event_changes_invoicing(payload: object) -> bool:
    """Whether a deal event may change whether the deal is invoiced: a deal created won, or
    one whose status changed (won, or reopened before its invoice). Never raises."""
    if not isinstance(payload, Mapping):
        return False
    meta, data, previous = (payload.get(key) for key in ("meta", "data", "previous"))
    if not isinstance(meta, Mapping) or meta.get("entity") != "deal":
        return False
    status = data.get("status") if isinstance(data, Mapping) else None
    if meta.get("action") == "create":
        return status == WON
    if meta.get("action") == "change":
        return isinstance(previous, Mapping) and "status" in previous and status in STATUSES
    return False


# --- deals ---------------------------------------------------------------------------------


def deal_from_pipedrive(
    deal_json: Mapping,
    *,
    products: Iterable[Mapping] = (),
    person: Mapping | None = None,
    organization: Mapping | None = None,
    tin_field: str = "",
    default_hs_code: str = "",
    default_product_category: str = "",
) -> Deal:
    """An API v2 deal as a canonical deal: won by its status, with its enabled products as
    lines and its organization (else person) as buyer."""
    deal = mapping(deal_json, "deal")
    deal_id = _number_id(deal, "id", path="deal")
    path = f"deal {deal_id}"
    status = text_at(deal, "status", path=path)
    if status not in STATUSES:
        raise MappingError(f"{path}.status is {shown(status)}, not one of {', '.join(STATUSES)}")
    currency = text_at(deal, "currency", path=path).upper()
    if not CURRENCY_PATTERN.fullmatch(currency):
        raise MappingError(f"{path}.currency is {shown(currency)}, not an ISO 4217 code")
    lines, prices_include_tax = _lines(
        products,
        deal_id=deal_id,
        currency=currency,
        hs_code=default_hs_code,
        product_category=default_product_category,
    )
    won_time = deal.get("won_time")
    return Deal(
        external_id=deal_id,
        name=text_at(deal, "title", path=path),
        stage=status,
        pipeline=_optional_id(deal, "pipeline_id", path=path),
        amount=_money(deal, "value", path=path, default=Decimal(0)),
        currency=currency,
        closed_at=_moment(won_time, path=f"{path}.won_time") if won_time else None,
        modified_at=_moment(deal.get("update_time"), path=f"{path}.update_time"),
        lines=lines,
        buyer=_buyer(person=person, organization=organization, tin_field=tin_field),
        is_won=status == WON,
        prices_include_tax=prices_include_tax,
        raw={"status": status, "stage_id": _optional_id(deal, "stage_id", path=path)},
    )


def deal_update_time(deal_json: object) -> datetime | None:
    """A listed deal's ``update_time``; None when it has none readable."""
    if not isinstance(deal_json, Mapping):
        return None
    try:
        return _moment(deal_json.get("update_time"), path="deal.update_time")
    except MappingError:
        return None


def party_ids(deal_json: Mapping) -> tuple[str, str]:
    """(person id, organization id) a v2 deal names, "" for none."""

    def one(key: str) -> str:
        value = deal_json.get(key)
        if isinstance(value, Mapping):  # v1 and webhook shapes nest it
            value = value.get("value")
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""

    return one("person_id"), one("org_id")


def _lines(
    products: Iterable[Mapping], *, deal_id: str, currency: str, hs_code: str, product_category: str
) -> tuple[tuple[Line, ...], bool]:
    lines, methods = [], set()
    for index, product in enumerate(products):
        path = f"deal {deal_id} product [{index}]"
        product = mapping(product, path)
        if product.get("is_enabled") is False:
            continue
        line_currency = text_at(product, "currency", path=path).upper()
        if line_currency and line_currency != currency:
            raise MappingError(f"{path}.currency is {line_currency}, the deal's is {currency}")
        method = text_at(product, "tax_method", path=path) or "exclusive"
        if method not in TAX_METHODS:
            raise MappingError(f"{path}.tax_method is {shown(method)}")
        quantity = _money(product, "quantity", path=path, exact=True)
        price = _money(product, "item_price", path=path, exact=True)
        if quantity <= 0 or price < 0:
            raise MappingError(f"{path} has quantity {quantity} and price {price}")
        gross = _cents(quantity * price)
        discount = _discount(product, gross=gross, path=path)
        tax = _money(product, "tax", path=path, default=Decimal(0), exact=True)
        if method != "none" and tax:
            methods.add(method)
        lines.append(
            Line(
                name=text_at(product, "name", path=path) or f"Product {index + 1}",
                quantity=quantity,
                unit_price=price,
                discount=discount,
                tax_rate=tax if method != "none" else Decimal(0),
                tax_type=method,
                hs_code=hs_code,
                product_category=product_category,
                description=text_at(product, "comments", path=path).strip(),
                external_id=_optional_id(product, "id", path=path),
                item_id=_optional_id(product, "product_id", path=path),
            )
        )
    if len(methods) > 1:
        raise MappingError(
            f"deal {deal_id} mixes tax methods {sorted(methods)}; Pipedrive keeps one per deal"
        )
    return tuple(lines), methods == {"inclusive"}


def _discount(product: Mapping, *, gross: Decimal, path: str) -> Decimal:
    """The line's discount in money: a percentage of the line, or an amount off it."""
    value = _money(product, "discount", path=path, default=Decimal(0), exact=True)
    kind = text_at(product, "discount_type", path=path) or "percentage"
    if kind not in DISCOUNT_TYPES:
        raise MappingError(f"{path}.discount_type is {shown(kind)}")
    discount = _cents(gross * value / 100) if kind == "percentage" else _cents(value)
    if not 0 <= discount <= gross:
        raise MappingError(f"{path}.discount {value} ({kind}) is outside 0 to the line's {gross}")
    return discount


# --- buyer ---------------------------------------------------------------------------------


def _buyer(*, person: Mapping | None, organization: Mapping | None, tin_field: str):
    contact = {}
    if person is not None:
        person = mapping(person, "person")
        contact = {
            "email": _primary(person, "emails", path="person"),
            "telephone": _primary(person, "phones", path="person"),
        }
    if organization is None:
        if person is None:
            return None
        return Party(
            name=text_at(person, "name", path="person").strip() or contact["email"],
            external_id=_optional_id(person, "id", path="person"),
            **contact,
        )
    organization = mapping(organization, "organization")
    return Party(
        name=text_at(organization, "name", path="organization").strip(),
        tin=_custom_text(organization, tin_field, path="organization"),
        external_id=_optional_id(organization, "id", path="organization"),
        **contact,
        **_address(organization.get("address"), path="organization.address"),
    )


def _address(value: object, *, path: str) -> dict:
    if value is None:
        return {}
    address = mapping(value, path)

    def text(key: str) -> str:
        return text_at(address, key, path=path).strip()

    street = " ".join(part for part in (text("street_number"), text("route")) if part)
    country_text = text("country")
    if not country_text or country_text.lower() in NIGERIA_NAMES:
        country = "NG"
    elif COUNTRY_CODE_PATTERN.fullmatch(country_text):
        country = country_text.upper()
    else:
        raise MappingError(f"{path}.country is {shown(country_text)}; give a two-letter code")
    state = text("admin_area_level_1").upper()
    return {
        "street_name": street or text("value"),
        "city_name": text("locality") or text("sublocality"),
        "postal_zone": text("postal_code"),
        # Only an ISO 3166-2 code is kept: FIRS refuses a state typed by name.
        "state": state if STATE_CODE_PATTERN.fullmatch(state) else "",
        "country": country,
    }


def _custom_text(record: Mapping, key: str, *, path: str) -> str:
    """A custom field's text (v2 keeps them under ``custom_fields``, typed ones as objects)."""
    if not key:
        return ""
    fields = record.get("custom_fields")
    value = fields.get(key) if isinstance(fields, Mapping) else None
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MappingError(f"{path}.custom_fields.{key} is {shown(value)}, not text")
    return value.strip()


def _primary(record: Mapping, key: str, *, path: str) -> str:
    """The primary (else first) value of a person's ``emails`` or ``phones``."""
    entries = [entry for entry in list_at(record, key, path=path) if isinstance(entry, Mapping)]
    entries.sort(key=lambda entry: entry.get("primary") is not True)
    for entry in entries:
        value = entry.get("value")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


# --- values --------------------------------------------------------------------------------


def _money(
    container: Mapping, key: str, *, path: str, default: Decimal | None = None, exact=False
) -> Decimal:
    """A JSON number as Decimal; ``exact`` keeps every digit, otherwise it is rounded to cents."""
    value = container.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"{path}.{key} is {'missing' if value is None else shown(value)}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or abs(number) >= Decimal("1e13"):
        raise MappingError(f"{path}.{key} is out of range")
    return number if exact else _cents(number)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _moment(value: object, *, path: str) -> datetime:
    """RFC 3339 (API v2), or v1's "YYYY-MM-DD HH:MM:SS" in UTC."""
    if not isinstance(value, str) or not value:
        raise MappingError(f"{path} is {'missing' if value is None else shown(value)}")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", value):
        value = value.replace(" ", "T") + "Z"
    return timestamp(value, path=path, standard="RFC 3339")


def _number_id(container: Mapping, key: str, *, path: str) -> str:
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError(f"{path}.{key} is {'missing' if value is None else shown(value)}")
    return str(value)


def _optional_id(container: Mapping, key: str, *, path: str) -> str:
    value = container.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MappingError(f"{path}.{key} is {shown(value)}, not an id")
    return str(value)[:MAX_ID_LENGTH]


def _meta_id(meta: Mapping, key: str) -> str:
    value = meta.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= MAX_ID_LENGTH:
        return value
    raise MappingError(f"meta.{key} is {'missing' if value is None else shown(value)}")


def _word(container: Mapping, key: str, *, path: str) -> str:
    value = text_at(container, key, path=path)
    if not re.fullmatch(r"[a-z_]{1,40}", value):
        raise MappingError(f"{path}.{key} is {shown(value)}")
    return value
