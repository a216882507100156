"""Salesforce records as canonical deals, and Outbound Messages as events.

An Opportunity (with its Account and its ``OpportunityLineItems``, as the REST query answers
them, numbers read as Decimal) is one deal, won when ``IsWon``. Salesforce keeps no tax on an
Opportunity: the connection says whether its prices include VAT, at which rate, which Account
field holds the buyer's TIN and which line item field marks a line exempt. A line is its
quantity times its unit price less its ``Discount`` percent, to the cent, checked against
Salesforce's own ``TotalPrice``.

An Outbound Message is a SOAP envelope read with defusedxml (no DTD, no entities): each
``Notification`` is one event keyed on its ``Id``, a hint to re-read the record it names.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from integrations.base.canonical import Deal, Line, Party
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import shown
from integrations.crm.salesforce import constants

CENT = Decimal("0.01")
NIGERIA_NAMES = ("nigeria", "ng", "nga")
OPPORTUNITY = "Opportunity"


# --- Outbound Messages -----------------------------------------------------------------------


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The notifications of an Outbound Message, one event each."""
    root = _xml(body)
    body_element = root.find(f"{{{constants.SOAP_ENV_NS}}}Body")
    if root.tag != f"{{{constants.SOAP_ENV_NS}}}Envelope" or body_element is None:
        raise MappingError("The Outbound Message is not a SOAP envelope with a Body")
    notifications = body_element.find(_om("notifications"))
    if notifications is None:
        raise MappingError("The Outbound Message's Body holds no notifications element")
    org_id = _om_text(notifications, "OrganizationId")
    if not constants.ORG_ID_PATTERN.fullmatch(org_id):
        raise MappingError(f"OrganizationId is {shown(org_id)}, not an org id")
    action_id = _om_text(notifications, "ActionId")
    listed = notifications.findall(_om("Notification"))
    if len(listed) > constants.MAX_NOTIFICATIONS:
        raise MappingError(f"{len(listed)} notifications: Salesforce sends at most 100")
    events = []
    for index, notification in enumerate(listed):
        path = f"Notification [{index}]"
        notification_id = _om_text(notification, "Id")
        if not constants.RECORD_ID_PATTERN.fullmatch(notification_id):
            raise MappingError(f"{path}.Id is {shown(notification_id)}")
        sobject = notification.find(_om("sObject"))
        if sobject is None:
            raise MappingError(f"{path} has no sObject")
        object_type = (sobject.get(f"{{{constants.XSI_NS}}}type") or "").rpartition(":")[2]
        fields = {
            child.tag.rpartition("}")[2]: (child.text or "").strip()
            for child in sobject
            if child.tag.startswith(f"{{{constants.SOBJECT_NS}}}")
        }
        record_id = fields.get("Id", "")
        if not constants.RECORD_ID_PATTERN.fullmatch(record_id):
            raise MappingError(f"{path}.sObject.Id is {shown(record_id)}")
        events.append(
            WebhookEvent(
                event_id=notification_id,
                event_type=f"outbound_message.{object_type or 'sObject'}",
                account_id=org_id,
                object_id=record_id,
                payload={"action_id": action_id, "type": object_type, "fields": fields},
            )
        )
    return events


def event_names_an_opportunity(payload: object) -> bool:
    return isinstance(payload, Mapping) and payload.get("type") == OPPORTUNITY


def _xml(body: bytes) -> Element:
    try:
        return fromstring(bytes(body), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise MappingError(f"The Outbound Message is not safe, well-formed XML ({error})") from None


def _om(name: str) -> str:
    return f"{{{constants.OUTBOUND_NS}}}{name}"


def _om_text(element: Element, name: str) -> str:
    child = element.find(_om(name))
    return (child.text or "").strip() if child is not None else ""


# --- Opportunities -------------------------------------------------------------------------


def deal_from_salesforce(
    opportunity: Mapping,
    *,
    lines: Iterable[Mapping] | None = None,
    currency: str = "NGN",
    prices_include_vat: bool = False,
    vat_rate: Decimal | None = None,
    tin_field: str = "",
    exempt_field: str = "",
    default_hs_code: str = "",
    default_product_category: str = "",
) -> Deal:
    """A queried Opportunity as a canonical deal. ``lines`` are its line items when they were
    read apart (a child set paged on), else those the query nested under it."""
    record = _mapping(opportunity, "Opportunity")
    opportunity_id = _id(record, "Id", path="Opportunity")
    path = f"Opportunity {opportunity_id}"
    is_won = record.get("IsWon")
    if not isinstance(is_won, bool):
        raise MappingError(f"{path}.IsWon is {shown(is_won)}, not true or false")
    currency = _text(record, "CurrencyIsoCode", path=path).upper() or currency
    if len(currency) != 3 or not currency.isalpha():
        raise MappingError(f"{path}.CurrencyIsoCode is {shown(currency)}")
    if lines is None:
        lines = _children(record, path=path)
    mapped = tuple(
        _line(
            _mapping(line, f"{path} line [{index}]"),
            path=f"{path} line [{index}]",
            vat_rate=vat_rate,
            exempt_field=exempt_field,
            hs_code=default_hs_code,
            product_category=default_product_category,
        )
        for index, line in enumerate(lines)
    )
    amount = record.get("Amount")
    close_date = record.get("CloseDate")
    return Deal(
        external_id=opportunity_id,
        name=_text(record, "Name", path=path),
        stage=_text(record, "StageName", path=path),
        pipeline="",
        amount=(
            _money(record, "Amount", path=path)
            if amount is not None
            else sum((_line_total(line) for line in mapped), Decimal(0))
        ),
        currency=currency,
        closed_at=_close_date(close_date, path=f"{path}.CloseDate") if close_date else None,
        modified_at=modstamp(record.get("SystemModstamp"), path=f"{path}.SystemModstamp"),
        lines=mapped,
        buyer=_buyer(
            record.get("Account"),
            contact=_primary_contact(record, path=path),
            tin_field=tin_field,
            path=f"{path}.Account",
        ),
        is_won=is_won,
        prices_include_tax=prices_include_vat,
        raw={
            "StageName": _text(record, "StageName", path=path),
            "AccountId": record.get("AccountId"),
        },
    )


def _children(record: Mapping, *, path: str) -> list:
    children = record.get("OpportunityLineItems")
    if children is None:
        return []
    children = _mapping(children, f"{path}.OpportunityLineItems")
    records = children.get("records")
    if not isinstance(records, list):
        raise MappingError(f"{path}.OpportunityLineItems.records is {shown(records)}")
    return records


def _line(
    item: Mapping,
    *,
    path: str,
    vat_rate: Decimal | None,
    exempt_field: str,
    hs_code: str,
    product_category: str,
) -> Line:
    quantity = _number(item, "Quantity", path=path)
    price = _number(item, "UnitPrice", path=path)
    if quantity <= 0 or price < 0:
        raise MappingError(f"{path} has Quantity {quantity} and UnitPrice {price}")
    gross = _cents(quantity * price)
    percent = _number(item, "Discount", path=path, default=Decimal(0))
    if not 0 <= percent <= 100:
        raise MappingError(f"{path}.Discount is {percent} %, outside 0 to 100")
    discount = _cents(gross * percent / 100)
    total = item.get("TotalPrice")
    if total is not None and abs(_money(item, "TotalPrice", path=path) - (gross - discount)) > CENT:
        raise MappingError(
            f"{path}.TotalPrice is {total}, but Quantity x UnitPrice less Discount is "
            f"{gross - discount}"
        )
    exempt = item.get(exempt_field) if exempt_field else None
    if exempt is not None and not isinstance(exempt, bool):
        raise MappingError(f"{path}.{exempt_field} is {shown(exempt)}, not true or false")
    product = item.get("Product2")
    product_name = (
        _text(product, "Name", path=f"{path}.Product2") if isinstance(product, Mapping) else ""
    )
    return Line(
        name=product_name or _text(item, "Name", path=path) or "Product",
        quantity=quantity,
        unit_price=price,
        discount=discount,
        tax_rate=Decimal(0) if exempt else vat_rate,
        hs_code=hs_code,
        product_category=product_category,
        sku=_text(item, "ProductCode", path=path),
        description=_text(item, "Name", path=path) if product_name else "",
        external_id=_id(item, "Id", path=path),
        item_id=_text(item, "Product2Id", path=path),
    )


def _line_total(line: Line) -> Decimal:
    return _cents(line.quantity * line.unit_price) - line.discount


def _primary_contact(record: Mapping, *, path: str) -> Mapping | None:
    """The Opportunity's primary contact (else its first), from its contact roles."""
    roles = record.get("OpportunityContactRoles")
    if roles is None:
        return None
    listed = _mapping(roles, f"{path}.OpportunityContactRoles").get("records")
    if not isinstance(listed, list):
        raise MappingError(f"{path}.OpportunityContactRoles.records is {shown(listed)}")
    contacts = [
        (role.get("IsPrimary") is True, role.get("Contact"))
        for role in listed
        if isinstance(role, Mapping) and isinstance(role.get("Contact"), Mapping)
    ]
    contacts.sort(key=lambda pair: not pair[0])
    return contacts[0][1] if contacts else None


def _buyer(account: object, *, contact: Mapping | None, tin_field: str, path: str):
    """The Account, with the TIN its custom field holds ("" without one: a B2C invoice) and the
    primary contact's e-mail; the contact alone when there is no Account."""
    email = _text(contact, "Email", path=f"{path}.Contact") if contact else ""
    phone = _text(contact, "Phone", path=f"{path}.Contact") if contact else ""
    if account is None:
        if contact is None:
            return None
        return Party(
            name=_text(contact, "Name", path=f"{path}.Contact") or email,
            email=email,
            telephone=phone,
        )
    account = _mapping(account, path)
    tin = account.get(tin_field) if tin_field else None
    if tin is not None and not isinstance(tin, str):
        raise MappingError(f"{path}.{tin_field} is {shown(tin)}, not text")
    country_code = _text(account, "BillingCountryCode", path=path).upper()
    country_name = _text(account, "BillingCountry", path=path)
    if country_code:
        country = country_code
    elif not country_name or country_name.lower() in NIGERIA_NAMES:
        country = "NG"
    elif len(country_name) == 2 and country_name.isalpha():
        country = country_name.upper()
    else:
        raise MappingError(f"{path}.BillingCountry is {shown(country_name)}; give a country code")
    state = _text(account, "BillingStateCode", path=path).upper()
    return Party(
        name=_text(account, "Name", path=path),
        tin=(tin or "").strip(),
        email=email,
        telephone=_text(account, "Phone", path=path) or phone,
        street_name=_text(account, "BillingStreet", path=path),
        city_name=_text(account, "BillingCity", path=path),
        postal_zone=_text(account, "BillingPostalCode", path=path),
        state=state if state.startswith("NG-") else "",
        country=country,
        external_id=_text(account, "Id", path=path),
    )


# --- values ----------------------------------------------------------------------------------


def modstamp(value: object, *, path: str) -> datetime:
    """A Salesforce datetime ("2026-11-22T18:26:40.000+0000") in UTC."""
    if not isinstance(value, str) or not value:
        raise MappingError(f"{path} is {'missing' if value is None else shown(value)}")
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise MappingError(f"{path} is {shown(value)}, not a Salesforce datetime") from None
    if moment.tzinfo is None:
        raise MappingError(f"{path} is {shown(value)}, without a time zone")
    return moment.astimezone(UTC)


def soql_datetime(moment: datetime) -> str:
    """A datetime as a SOQL literal (UTC, milliseconds)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _close_date(value: object, *, path: str) -> datetime:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        raise MappingError(f"{path} is {shown(value)}, not a date")
    return datetime.combine(day, time(), tzinfo=UTC)


def _mapping(value: object, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise MappingError(f"{path} is {shown(value)}, not an object")
    return value


def _text(container: Mapping, key: str, *, path: str) -> str:
    value = container.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MappingError(f"{path}.{key} is {shown(value)}, not text")
    return value.strip()


def _id(container: Mapping, key: str, *, path: str) -> str:
    value = _text(container, key, path=path)
    if not constants.RECORD_ID_PATTERN.fullmatch(value):
        raise MappingError(f"{path}.{key} is {shown(value) if value else 'missing'}")
    return value


def _number(container: Mapping, key: str, *, path: str, default: Decimal | None = None):
    """A JSON number as an exact Decimal (the client reads them so; a float through its repr)."""
    value = container.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise MappingError(f"{path}.{key} is {'missing' if value is None else shown(value)}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{path}.{key} is {shown(value)}") from None
    if not number.is_finite() or abs(number) >= Decimal("1e13"):
        raise MappingError(f"{path}.{key} is out of range")
    return number


def _money(container: Mapping, key: str, *, path: str) -> Decimal:
    return _cents(_number(container, key, path=path))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
