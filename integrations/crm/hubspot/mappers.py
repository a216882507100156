"""HubSpot JSON -> canonical ``Deal``, ``WebhookEvent`` and pipeline stages. Pure: no database,
no HTTP.

How a HubSpot deal becomes a deal the invoice builder can use:

- Every CRM property value is a string (or null when empty): amounts ``"1250000.50"``, quantities
  ``"50"``. They leave as exact ``Decimal`` in major units; never float.
- Currency: ``deal_currency_code``, else the account's default (``default_currency``). Line items
  must be in the deal's currency (``hs_line_item_currency_code``); nothing is converted.
- Lines: ``price`` is the unit price before tax (``prices_include_tax`` is False: HubSpot adds tax
  on top). ``discount`` is HubSpot's *unit* discount and ``hs_discount_percentage`` a percentage
  of the price; either becomes the line's total ``Line.discount``. When HubSpot states the line
  ``amount`` it must agree, to the cent, with quantity x price less that discount: a disagreement
  means the discount was read wrongly, and is refused rather than invoiced.
- Tax: a line's ``hs_tax_rate`` (a percentage, from its tax rate group) is its rate; otherwise
  the PERCENT tax objects passed as ``taxes`` (HubSpot's Taxes API) add up to the rate; otherwise
  ``None``, the standard VAT rate. A FIXED tax has no rate and is refused. ``hs_tax_amount``, the
  tax HubSpot computed for the line, is the line's charged tax when HubSpot states it.
- Item: the line's ``hs_product_id`` (its product in the library) identifies the item.
- Buyer: the deal's company, with its TIN from the connection's company property
  (``tin_property``): empty when the company has none, never invented. The contact gives email
  and telephone when the company lacks them, and is the buyer when there is no company.
- Won: ``is_won`` is whether ``dealstage`` is one of the connection's ``won_stage_ids`` (stage ids
  are per account; see ``won_stage_ids`` for reading them from the pipelines).

Anything malformed is a MappingError naming its JSON path.
"""

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from hashlib import sha256

from integrations.base.canonical import Deal, Line, Party
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import (
    decimal_text,
    identifier,
    json_body,
    list_at,
    mapping,
    shown,
    text_at,
    timestamp,
    whole_number,
)

# Ids become database keys; anything longer is not a HubSpot id.
MAX_ID_LENGTH = 64
# ``WebhookEvent.event_id`` is stored in a 255-character column.
MAX_EVENT_KEY_LENGTH = 255
DECIMAL_PATTERN = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,10})?", re.ASCII)
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}", re.ASCII)
COUNTRY_CODE_PATTERN = re.compile(r"[A-Z]{2}", re.ASCII)
EPOCH_MS_PATTERN = re.compile(r"[0-9]{1,15}", re.ASCII)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
UNNAMED_LINE = "Line item"
MAX_TOKEN_LENGTH = 2048
SEARCH_PAGE_LIMIT = 200
BATCH_READ_LIMIT = 100
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "closedate",
    "pipeline",
    "hs_lastmodifieddate",
)
LINE_ITEM_PROPERTIES = (
    "name",
    "quantity",
    "price",
    "amount",
    "hs_sku",
    "hs_product_id",
    "discount",
    "hs_discount_percentage",
    "hs_line_item_currency_code",
    "hs_tax_rate",
    "hs_tax_amount",
    "description",
)
# The keys under which a deal's ``associations`` list its line items: v3 says "line items".
LINE_ITEM_ASSOCIATION_KEYS = ("line items", "line_items")

# ISO 3166-2:NG subdivision codes by the names HubSpot users type into the free-text state field.
NIGERIAN_STATES: Mapping[str, str] = {
    "abia": "NG-AB",
    "adamawa": "NG-AD",
    "akwa ibom": "NG-AK",
    "anambra": "NG-AN",
    "bauchi": "NG-BA",
    "bayelsa": "NG-BY",
    "benue": "NG-BE",
    "borno": "NG-BO",
    "cross river": "NG-CR",
    "delta": "NG-DE",
    "ebonyi": "NG-EB",
    "edo": "NG-ED",
    "ekiti": "NG-EK",
    "enugu": "NG-EN",
    "federal capital territory": "NG-FC",
    "fct": "NG-FC",
    "abuja": "NG-FC",
    "gombe": "NG-GO",
    "imo": "NG-IM",
    "jigawa": "NG-JI",
    "kaduna": "NG-KD",
    "kano": "NG-KN",
    "katsina": "NG-KT",
    "kebbi": "NG-KE",
    "kogi": "NG-KO",
    "kwara": "NG-KW",
    "lagos": "NG-LA",
    "nasarawa": "NG-NA",
    "niger": "NG-NI",
    "ogun": "NG-OG",
    "ondo": "NG-ON",
    "osun": "NG-OS",
    "oyo": "NG-OY",
    "plateau": "NG-PL",
    "rivers": "NG-RI",
    "sokoto": "NG-SO",
    "taraba": "NG-TA",
    "yobe": "NG-YO",
    "zamfara": "NG-ZA",
}
NIGERIA_NAMES = frozenset({"nigeria", "federal republic of nigeria"})


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True)
class ErrorAnswer:
    status: str
    message: str
    category: str
    correlation_id: str
    policy_name: str


@dataclass(frozen=True)
class PipelineStage:
    """One deal stage of a pipeline (``GET /crm/v3/pipelines/deals``)."""

    pipeline_id: str
    pipeline_label: str
    stage_id: str
    label: str
    display_order: int
    probability: Decimal | None
    is_closed: bool
    archived: bool

    @property
    def is_won(self) -> bool:
        """HubSpot's own test for closed won: closed, with probability 1.0."""
        return self.is_closed and self.probability == 1


def deal_from_hubspot(
    deal_json: Mapping,
    *,
    line_items: Iterable[Mapping] = (),
    company: Mapping | None = None,
    contact: Mapping | None = None,
    won_stage_ids: Collection[str],
    tin_property: str = "tin",
    taxes: Iterable[Mapping] = (),
    default_currency: str = "NGN",
    default_hs_code: str = "",
    default_product_category: str = "",
) -> Deal:
    """The canonical deal of a HubSpot deal object (GET, search or batch read).

    ``line_items`` are the deal's line item objects (batch read); when the deal JSON lists its
    associations, the line items, company and contact given must be the associated ones.
    ``won_stage_ids`` are the stage ids that mean closed won for this connection. Every line gets
    ``default_hs_code`` and ``default_product_category`` (HubSpot has no HS codes). Raises
    MappingError naming the field when the deal cannot be read.
    """
    if isinstance(won_stage_ids, str):
        raise TypeError("won_stage_ids is a collection of stage ids, not one string")
    if not CURRENCY_PATTERN.fullmatch(default_currency):
        raise ValueError(f"default_currency {default_currency!r} is not an ISO 4217 code")
    deal_json = mapping(deal_json, "deal")
    deal_id = _id(deal_json, "id", path="deal")
    try:
        properties = mapping(deal_json.get("properties"), "deal.properties")
        currency = (
            text_at(properties, "deal_currency_code", path="deal.properties") or default_currency
        )
        if not CURRENCY_PATTERN.fullmatch(currency):
            raise MappingError(
                f"deal.properties.deal_currency_code is {shown(currency)}, not an ISO 4217 code"
            )
        associations = _associations(deal_json)
        tax_rate = _tax_rate_from_taxes(taxes)
        lines = _lines(
            line_items,
            associated_ids=_associated_ids(associations, LINE_ITEM_ASSOCIATION_KEYS),
            currency=currency,
            tax_rate=tax_rate,
            hs_code=default_hs_code,
            product_category=default_product_category,
        )
        amount = _decimal(properties, "amount", "deal.properties")
        if amount is None:
            if not lines:
                raise MappingError("deal.properties.amount is empty and the deal has no line items")
            amount = sum((_line_total(line) for line in lines), Decimal(0))
        elif amount < 0:
            raise MappingError(f"deal.properties.amount is {amount}; a deal is never negative")
        stage = text_at(properties, "dealstage", path="deal.properties")
        if not stage:
            raise MappingError("deal.properties.dealstage is missing")
        modified = text_at(properties, "hs_lastmodifieddate", path="deal.properties")
        modified_path = "deal.properties.hs_lastmodifieddate"
        if not modified:
            modified, modified_path = text_at(deal_json, "updatedAt", path="deal"), "deal.updatedAt"
        if not modified:
            raise MappingError("deal.properties.hs_lastmodifieddate is missing")
        closed = text_at(properties, "closedate", path="deal.properties")
        name = text_at(properties, "dealname", path="deal.properties").strip()
        return Deal(
            external_id=deal_id,
            name=name or f"HubSpot deal {deal_id}",
            stage=stage,
            pipeline=text_at(properties, "pipeline", path="deal.properties"),
            amount=amount,
            currency=currency,
            closed_at=_timestamp(closed, path="deal.properties.closedate") if closed else None,
            modified_at=_timestamp(modified, path=modified_path),
            lines=lines,
            buyer=_buyer(
                company=company,
                contact=contact,
                tin_property=tin_property,
                company_ids=_associated_ids(associations, ("companies",)),
                contact_ids=_associated_ids(associations, ("contacts",)),
            ),
            is_won=stage in won_stage_ids,
            prices_include_tax=False,
            raw=dict(deal_json),
        )
    except MappingError as error:
        raise MappingError(f"HubSpot deal {deal_id}: {error}") from None


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The events of a (verified) HubSpot webhook delivery: a JSON array of up to 100 events.

    ``eventId`` alone is not unique (HubSpot reuses it across subscriptions), so each event's
    ``event_id`` is a key built from what the event says happened: subscription type, object,
    event id, time, and the property and value it changed (or, for an association change, both
    ends and the association). A redelivery (``attemptNumber`` > 0) has the same key. The portal
    is ``account_id``; the payload is the event as sent.
    """
    events = json_body(body)
    if not isinstance(events, list):
        raise MappingError(f"The webhook body is a JSON {type(events).__name__}, not an array")
    if not events:
        raise MappingError("The webhook body is an empty array: no events")
    return [_webhook_event(event, path=f"[{index}]") for index, event in enumerate(events)]


def pipeline_stages(pipelines_json: Mapping) -> tuple[PipelineStage, ...]:
    """Every stage of every pipeline in a ``GET /crm/v3/pipelines/deals`` answer, in order."""
    pipelines = list_at(mapping(pipelines_json, "pipelines"), "results", path="")
    stages = []
    for index, pipeline in enumerate(pipelines):
        path = f"results[{index}]"
        pipeline = mapping(pipeline, path)
        pipeline_id = _id(pipeline, "id", path=path)
        pipeline_label = text_at(pipeline, "label", path=path)
        for stage_index, stage in enumerate(list_at(pipeline, "stages", path=path)):
            stage_path = f"{path}.stages[{stage_index}]"
            stage = mapping(stage, stage_path)
            metadata = mapping(stage.get("metadata") or {}, f"{stage_path}.metadata")
            probability = _decimal(metadata, "probability", f"{stage_path}.metadata")
            if probability is not None and not 0 <= probability <= 1:
                raise MappingError(f"{stage_path}.metadata.probability {probability} is not 0-1")
            stages.append(
                PipelineStage(
                    pipeline_id=pipeline_id,
                    pipeline_label=pipeline_label,
                    stage_id=_id(stage, "id", path=stage_path),
                    label=text_at(stage, "label", path=stage_path),
                    display_order=_display_order(stage, path=stage_path),
                    probability=probability,
                    is_closed=_flag(metadata, "isClosed", path=f"{stage_path}.metadata"),
                    archived=_flag(stage, "archived", path=stage_path),
                )
            )
    return tuple(stages)


def won_stage_ids(pipelines_json: Mapping) -> frozenset[str]:
    """The ids of the closed-won stages (closed, probability 1.0) across all deal pipelines."""
    return frozenset(stage.stage_id for stage in pipeline_stages(pipelines_json) if stage.is_won)


def associations_from_batch(batch_json: Mapping) -> dict[str, tuple[str, ...]]:
    """``POST /crm/v4/associations/{from}/{to}/batch/read`` as from-id -> associated ids.

    Ids HubSpot reports under ``errors`` (nothing associated) are simply absent.
    """
    results = list_at(mapping(batch_json, "associations"), "results", path="")
    associated: dict[str, tuple[str, ...]] = {}
    for index, result in enumerate(results):
        path = f"results[{index}]"
        result = mapping(result, path)
        from_id = _id(mapping(result.get("from"), f"{path}.from"), "id", path=f"{path}.from")
        to_ids = []
        for to_index, target in enumerate(list_at(result, "to", path=path)):
            target_path = f"{path}.to[{to_index}]"
            # The spec types toObjectId as a string; HubSpot sends a number.
            value = mapping(target, target_path).get("toObjectId")
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                value = str(value)
            to_ids.append(_id({"toObjectId": value}, "toObjectId", path=target_path))
        associated[from_id] = tuple(dict.fromkeys(associated.get(from_id, ()) + tuple(to_ids)))
    return associated


def oauth_tokens(token_json: Mapping, *, received_at: datetime) -> OAuthTokens:
    """A ``POST /oauth/v1/token`` answer; the access token expires ``expires_in`` after receipt."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    token_json = mapping(token_json, "token")
    token_type = text_at(token_json, "token_type", path="token")
    if token_type.lower() != "bearer":
        raise MappingError(f"token.token_type is {shown(token_type)}, not bearer")
    expires_in = whole_number(token_json, "expires_in", path="token")
    if expires_in <= 0:
        raise MappingError("token.expires_in is 0: the token is already expired")
    return OAuthTokens(
        access_token=_token(token_json, "access_token"),
        refresh_token=_token(token_json, "refresh_token"),
        expires_at=received_at + timedelta(seconds=expires_in),
    )


def error_answer(error_json: Mapping) -> ErrorAnswer:
    """A HubSpot error body: the CRM's ``{status: "error", message, correlationId, category}``,
    the rate limiter's (``errorType``, ``policyName``) or OAuth's (the code in ``status``)."""
    error_json = mapping(error_json, "error")
    return ErrorAnswer(
        status=text_at(error_json, "status", path="error"),
        message=text_at(error_json, "message", path="error"),
        category=text_at(error_json, "category", path="error")
        or text_at(error_json, "errorType", path="error"),
        correlation_id=text_at(error_json, "correlationId", path="error"),
        policy_name=text_at(error_json, "policyName", path="error"),
    )


def deals_search_request(
    *,
    modified_since_ms: int,
    stage_ids: Collection[str],
    after: str = "0",
    limit: int = SEARCH_PAGE_LIMIT,
    properties: Collection[str] = DEAL_PROPERTIES,
) -> dict:
    """The incremental pull: deals modified since a moment and now in one of ``stage_ids``,
    oldest change first, so the last one seen is the next anchor (the search stops at 10,000)."""
    if isinstance(stage_ids, str) or not stage_ids:
        raise ValueError("stage_ids is a non-empty collection of stage ids")
    if not 1 <= limit <= SEARCH_PAGE_LIMIT:
        raise ValueError(f"limit must be 1 to {SEARCH_PAGE_LIMIT}")
    stages = sorted(stage_ids)
    stage_filter = (
        {"propertyName": "dealstage", "operator": "EQ", "value": stages[0]}
        if len(stages) == 1
        else {"propertyName": "dealstage", "operator": "IN", "values": stages}
    )
    return {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_lastmodifieddate",
                        "operator": "GTE",
                        "value": str(modified_since_ms),
                    },
                    stage_filter,
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
        "after": after,
    }


def line_items_batch_read_request(
    line_item_ids: Collection[str], *, properties: Collection[str] = LINE_ITEM_PROPERTIES
) -> dict:
    """``POST /crm/v3/objects/line_items/batch/read`` for up to 100 ids."""
    if isinstance(line_item_ids, str) or not 1 <= len(line_item_ids) <= BATCH_READ_LIMIT:
        raise ValueError(f"line_item_ids is a collection of 1 to {BATCH_READ_LIMIT} ids")
    return {
        "inputs": [{"id": line_item_id} for line_item_id in line_item_ids],
        "properties": list(properties),
        "propertiesWithHistory": [],
    }


# --- lines ---------------------------------------------------------------------------------


def _lines(
    line_items: Iterable[Mapping],
    *,
    associated_ids: list[str] | None,
    currency: str,
    tax_rate: Decimal | None,
    hs_code: str,
    product_category: str,
) -> tuple[Line, ...]:
    lines = tuple(
        _line(
            mapping(item, f"line_items[{index}]"),
            path=f"line_items[{index}]",
            currency=currency,
            tax_rate=tax_rate,
            hs_code=hs_code,
            product_category=product_category,
        )
        for index, item in enumerate(line_items)
    )
    if associated_ids is not None:
        given = [line.external_id for line in lines]
        missing = sorted(set(associated_ids) - set(given))
        extra = sorted(set(given) - set(associated_ids))
        if missing:
            raise MappingError(
                f"line items {', '.join(missing)} are associated with the deal but were not given"
            )
        if extra:
            raise MappingError(f"line items {', '.join(extra)} are not associated with the deal")
    if len({line.external_id for line in lines}) != len(lines):
        raise MappingError("the same line item is given twice")
    return lines


def _line(
    item: Mapping,
    *,
    path: str,
    currency: str,
    tax_rate: Decimal | None,
    hs_code: str,
    product_category: str,
) -> Line:
    line_id = _id(item, "id", path=path)
    props_path = f"{path}.properties"
    properties = mapping(item.get("properties"), props_path)
    line_currency = text_at(properties, "hs_line_item_currency_code", path=props_path)
    if line_currency and line_currency != currency:
        raise MappingError(
            f"{props_path}.hs_line_item_currency_code is {shown(line_currency)}; the deal is "
            f"in {currency} and nothing is converted"
        )
    quantity = _decimal(properties, "quantity", props_path)
    if quantity is None or quantity <= 0:
        raise MappingError(
            f"{props_path}.quantity is {shown(quantity)}; a line needs a positive one"
        )
    price = _decimal(properties, "price", props_path)
    if price is None or price < 0:
        raise MappingError(
            f"{props_path}.price is {shown(price)}; a line needs a price of 0 or more"
        )
    gross = quantity * price
    discount = _line_discount(properties, path=props_path, quantity=quantity, gross=gross)
    stated = _decimal(properties, "amount", props_path)
    computed = _cents(gross) - _cents(discount)
    # One cent of slack: HubSpot rounds a percentage discount once, we round gross and discount.
    if stated is not None and abs(_cents(stated) - computed) > CENT:
        raise MappingError(
            f"{props_path}.amount is {stated}, but quantity x price less discount is {computed}"
        )
    own_rate = _decimal(properties, "hs_tax_rate", props_path)
    if own_rate is not None and not 0 <= own_rate <= HUNDRED:
        raise MappingError(f"{props_path}.hs_tax_rate {own_rate} is not a percentage")
    tax_amount = _decimal(properties, "hs_tax_amount", props_path)
    if tax_amount is not None and tax_amount < 0:
        raise MappingError(f"{props_path}.hs_tax_amount is {tax_amount}; tax is never negative")
    return Line(
        name=text_at(properties, "name", path=props_path).strip() or UNNAMED_LINE,
        quantity=quantity,
        unit_price=price,
        discount=discount,
        tax_rate=own_rate if own_rate is not None else tax_rate,
        hs_code=hs_code,
        product_category=product_category,
        sku=text_at(properties, "hs_sku", path=props_path),
        description=text_at(properties, "description", path=props_path),
        external_id=line_id,
        tax_amount=None if tax_amount is None else _cents(tax_amount),
        item_id=text_at(properties, "hs_product_id", path=props_path),
    )


def _line_discount(properties: Mapping, *, path: str, quantity: Decimal, gross: Decimal) -> Decimal:
    """The line's whole discount from HubSpot's unit discount or its discount percentage."""
    unit_discount = _decimal(properties, "discount", path) or Decimal(0)
    percentage = _decimal(properties, "hs_discount_percentage", path) or Decimal(0)
    if unit_discount < 0 or not 0 <= percentage <= HUNDRED:
        raise MappingError(f"{path} has a negative discount or a percentage outside 0-100")
    if unit_discount and percentage:
        raise MappingError(f"{path} has both a unit discount and a discount percentage")
    if not unit_discount and not percentage:
        return Decimal(0)
    discount = quantity * unit_discount if unit_discount else gross * percentage / HUNDRED
    if discount > gross:
        raise MappingError(f"{path}: the discount {discount} is more than the line's {gross}")
    return discount


def _line_total(line: Line) -> Decimal:
    return _cents(line.quantity * line.unit_price) - _cents(line.discount)


def _tax_rate_from_taxes(taxes: Iterable[Mapping]) -> Decimal | None:
    """The added-up rate of HubSpot PERCENT tax objects; None when there are none."""
    rate = None
    for index, tax in enumerate(taxes):
        path = f"taxes[{index}].properties"
        properties = mapping(mapping(tax, f"taxes[{index}]").get("properties"), path)
        kind = text_at(properties, "hs_type", path=path)
        if kind != "PERCENT":
            raise MappingError(
                f"{path}.hs_type is {shown(kind)}; only a PERCENT tax gives a rate to invoice"
            )
        value = _decimal(properties, "hs_value", path)
        if value is None or not 0 <= value <= HUNDRED:
            raise MappingError(f"{path}.hs_value is {shown(value)}, not a percentage")
        rate = (rate or Decimal(0)) + value
    return rate


# --- buyer ---------------------------------------------------------------------------------


def _buyer(
    *,
    company: Mapping | None,
    contact: Mapping | None,
    tin_property: str,
    company_ids: list[str] | None,
    contact_ids: list[str] | None,
) -> Party | None:
    contact_properties: Mapping = {}
    if contact is not None:
        contact = mapping(contact, "contact")
        contact_id = _id(contact, "id", path="contact")
        if contact_ids is not None and contact_id not in contact_ids:
            raise MappingError(f"contact {contact_id} is not associated with the deal")
        contact_properties = mapping(contact.get("properties"), "contact.properties")

    def from_contact(key: str) -> str:
        return text_at(contact_properties, key, path="contact.properties").strip()

    contact_phone = from_contact("phone") or from_contact("mobilephone")
    if company is None:
        if contact is None:
            return None
        person = " ".join(
            part for part in (from_contact("firstname"), from_contact("lastname")) if part
        )
        return Party(
            name=person or from_contact("company") or from_contact("email"),
            email=from_contact("email"),
            telephone=contact_phone,
            **_address(contact_properties, path="contact.properties"),
            external_id=_id(contact, "id", path="contact"),
        )
    company = mapping(company, "company")
    company_id = _id(company, "id", path="company")
    if company_ids is not None and company_id not in company_ids:
        raise MappingError(f"company {company_id} is not associated with the deal")
    properties = mapping(company.get("properties"), "company.properties")

    def from_company(key: str) -> str:
        return text_at(properties, key, path="company.properties").strip()

    return Party(
        name=from_company("name") or from_company("domain"),
        tin=from_company(tin_property),
        email=from_company("email") or from_contact("email"),
        telephone=from_company("phone") or contact_phone,
        **_address(properties, path="company.properties"),
        external_id=company_id,
    )


def _address(properties: Mapping, *, path: str) -> dict:
    def text(key: str) -> str:
        return text_at(properties, key, path=path).strip()

    country = _country(text("country"), path=f"{path}.country")
    return {
        "street_name": ", ".join(part for part in (text("address"), text("address2")) if part),
        "city_name": text("city"),
        "postal_zone": text("zip"),
        "state": _state(text("state"), country=country),
        "country": country,
    }


def _country(text: str, *, path: str) -> str:
    """An ISO 3166-1 alpha-2 code from HubSpot's free-text country; Nigeria when empty."""
    if not text or text.lower() in NIGERIA_NAMES:
        return Party.country
    if COUNTRY_CODE_PATTERN.fullmatch(text.upper()):
        return text.upper()
    raise MappingError(f"{path} is {shown(text)}; give a two-letter ISO country code")


def _state(text: str, *, country: str) -> str:
    """ISO 3166-2 for a Nigerian state typed by name or code; anything else is dropped (the
    invoice's state is optional, and a free-text one would be refused)."""
    if country != "NG" or not text:
        return ""
    upper = text.upper()
    if upper in NIGERIAN_STATES.values():
        return upper
    if f"NG-{upper}" in NIGERIAN_STATES.values():
        return f"NG-{upper}"
    name = re.sub(r"\s+state$", "", text.strip().lower())
    return NIGERIAN_STATES.get(name, "")


# --- associations --------------------------------------------------------------------------


def _associations(deal_json: Mapping) -> Mapping | None:
    if deal_json.get("associations") is None:
        return None
    return mapping(deal_json["associations"], "deal.associations")


def _associated_ids(associations: Mapping | None, keys: tuple[str, ...]) -> list[str] | None:
    """The ids the deal lists under one of ``keys``; None when the deal does not say (HubSpot
    leaves out a type that was not asked for and one with nothing associated alike)."""
    if associations is None:
        return None
    for key in keys:
        if key in associations:
            path = f"deal.associations.{key}"
            results = list_at(mapping(associations[key], path), "results", path=path)
            return [
                _id(mapping(entry, f"{path}.results[{i}]"), "id", path=f"{path}.results[{i}]")
                for i, entry in enumerate(results)
            ]
    return None


# --- webhooks ------------------------------------------------------------------------------


def _webhook_event(event: object, *, path: str) -> WebhookEvent:
    event = mapping(event, path)
    subscription_type = _id(event, "subscriptionType", path=path)
    event_id = whole_number(event, "eventId", path=path)
    occurred_at = whole_number(event, "occurredAt", path=path)
    portal_id = whole_number(event, "portalId", path=path)
    if "fromObjectId" in event or subscription_type.endswith(".associationChange"):
        from_id = whole_number(event, "fromObjectId", path=path)
        to_id = whole_number(event, "toObjectId", path=path)
        association = text_at(event, "associationType", path=path)
        removed = _flag(event, "associationRemoved", path=path)
        object_id = str(from_id)
        change = f"{association}:{to_id}:{'removed' if removed else 'added'}"
    else:
        object_id = str(whole_number(event, "objectId", path=path))
        property_name = text_at(event, "propertyName", path=path)
        value = event.get("propertyValue")
        if value is not None and not isinstance(value, str):
            raise MappingError(f"{path}.propertyValue is a {type(value).__name__}, not text")
        change = f"{property_name}={value or ''}" if property_name else ""
    key = ":".join(
        part
        for part in (subscription_type, object_id, str(event_id), str(occurred_at), change)
        if part
    )
    if len(key) > MAX_EVENT_KEY_LENGTH:
        key = f"sha256:{sha256(key.encode('utf-8')).hexdigest()}"
    return WebhookEvent(
        event_id=key,
        event_type=subscription_type,
        account_id=str(portal_id),
        object_id=object_id,
        payload=event,
    )


# --- reading values ------------------------------------------------------------------------


def _timestamp(text: str, *, path: str) -> datetime:
    """An ISO 8601 timestamp with an offset ("2026-11-22T18:26:40.125Z") or epoch milliseconds
    ("1732300000000", as search filters and some properties give them)."""
    if EPOCH_MS_PATTERN.fullmatch(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    return timestamp(text, path=path)


def _decimal(container: Mapping, key: str, path: str) -> Decimal | None:
    """A HubSpot number property (a string); None when absent, null or empty."""
    text = text_at(container, key, path=path).strip()
    if not text:
        return None
    return decimal_text(
        text,
        path=f"{path}.{key}",
        pattern=DECIMAL_PATTERN,
        like="a decimal string like '1250000.50'",
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _flag(container: Mapping, key: str, *, path: str) -> bool:
    """A boolean that HubSpot sends as JSON true/false or as "true"/"false" (metadata)."""
    value = container.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise MappingError(f"{path}.{key} is {shown(value)}, not true or false")


def _display_order(stage: Mapping, *, path: str) -> int:
    value = stage.get("displayOrder", 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{path}.displayOrder is {shown(value)}, not a whole number")
    return value


def _id(container: Mapping, key: str, *, path: str) -> str:
    return identifier(container, key, path=path, max_length=MAX_ID_LENGTH)


def _token(container: Mapping, key: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_LENGTH:
        raise MappingError(f"token.{key} is missing or not a token")
    return value
