"""HubSpot sandbox: the CRM endpoints the HubSpot connector calls, played by our own app.

Mounted at /sandbox/hubspot/ when ``settings.SANDBOX_ENABLED``, with HubSpot's own paths below
(``/sandbox/hubspot/crm/v3/objects/deals/search``). An account is a ``HubSpotSandboxPortal``
(``sandbox_portal_create``). HubSpot's HTTP conventions (tokens, OAuth, error bodies, rate-limit
budgets, faults) are in ``sandboxes/hubspot/api.py``, on the sandbox kit; this module is
HubSpot's own semantics:
- Search: filter groups are OR'ed, their filters AND'ed; ``after`` is an offset; paging to
  10,000 results or beyond answers 400, as HubSpot does (re-anchor the filter instead).
- Deals: ``dealstage`` must belong to the deal's pipeline; moving to a closed stage sets an empty
  ``closedate``. Line items compute ``amount`` (quantity x price less the unit discount or the
  discount percentage), and a deal's ``amount`` follows its line items.
- Association type ids are HubSpot's defaults, which its documentation lists but the sandbox
  has not checked against a live account: deal->contact 3, deal->company 5 (primary, which also
  adds 341 unlabeled), deal->line item 19, and inverses.
"""

import base64
import functools
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone

from sandboxes.hubspot.api import HubSpotError, api
from sandboxes.hubspot.models import (
    HubSpotSandboxAssociation,
    HubSpotSandboxObject,
    HubSpotSandboxPipeline,
    HubSpotSandboxPipelineStage,
    HubSpotSandboxPortal,
)

MAX_LIST_LIMIT = 100
MAX_SEARCH_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_BATCH_READ = 100
MAX_ASSOCIATION_BATCH = 1000

# Path segments naming an object type (name or HubSpot's type id) -> the stored type.
OBJECT_TYPES = {
    "deals": "deals",
    "0-3": "deals",
    "line_items": "line_items",
    "0-8": "line_items",
    "companies": "companies",
    "0-2": "companies",
    "contacts": "contacts",
    "0-1": "contacts",
}
# HubSpot's singular for messages ("Could not get some LINE_ITEM objects").
OBJECT_NAMES = {
    "deals": "DEAL",
    "line_items": "LINE_ITEM",
    "companies": "COMPANY",
    "contacts": "CONTACT",
}
# What a GET without ``properties`` returns, besides the ids and dates every object has.
DEFAULT_PROPERTIES = {
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
    "line_items": ("name", "quantity", "price", "amount"),
    "companies": ("name", "domain"),
    "contacts": ("firstname", "lastname", "email"),
}
# Contacts name their modified date differently from every other object.
MODIFIED_PROPERTY = {
    "deals": "hs_lastmodifieddate",
    "line_items": "hs_lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
}
COMPUTED_PROPERTIES = {
    "deals": frozenset({"hs_is_closed", "hs_is_closed_won"}),
    "line_items": frozenset(
        {"amount", "hs_pre_discount_amount", "hs_total_discount", "hs_tax_amount"}
    ),
    "companies": frozenset(),
    "contacts": frozenset(),
}
READ_ONLY_PROPERTIES = frozenset(
    {"hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate"}
)
NUMBER_PROPERTIES = {
    "deals": frozenset({"amount"}),
    "line_items": frozenset(
        {"quantity", "price", "discount", "hs_discount_percentage", "hs_tax_rate"}
    ),
    "companies": frozenset(),
    "contacts": frozenset(),
}
DATETIME_PROPERTIES = {"deals": frozenset({"closedate"})}
# Search filters on these use columns; range operators work on them only.
SEARCH_COLUMNS = {
    "hs_lastmodifieddate": "updated_at",
    "lastmodifieddate": "updated_at",
    "createdate": "created_at",
    "hs_object_id": "id",
}
RANGE_OPERATORS = {"GT": "gt", "GTE": "gte", "LT": "lt", "LTE": "lte"}
PROPERTY_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,99}", re.ASCII)
NUMBER_PATTERN = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,10})?", re.ASCII)
DIGITS_PATTERN = re.compile(r"[0-9]{1,18}", re.ASCII)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class AssociationType:
    from_type: str
    to_type: str
    name: str
    inverse: int
    label: str | None = None


ASSOCIATION_TYPES: Mapping[int, AssociationType] = {
    1: AssociationType("contacts", "companies", "contact_to_company", 2, "Primary"),
    2: AssociationType("companies", "contacts", "company_to_contact", 1, "Primary"),
    3: AssociationType("deals", "contacts", "deal_to_contact", 4),
    4: AssociationType("contacts", "deals", "contact_to_deal", 3),
    5: AssociationType("deals", "companies", "deal_to_company", 6, "Primary"),
    6: AssociationType("companies", "deals", "company_to_deal", 5, "Primary"),
    19: AssociationType("deals", "line_items", "deal_to_line_item", 20),
    20: AssociationType("line_items", "deals", "line_item_to_deal", 19),
    279: AssociationType("contacts", "companies", "contact_to_company_unlabeled", 280),
    280: AssociationType("companies", "contacts", "company_to_contact_unlabeled", 279),
    341: AssociationType("deals", "companies", "deal_to_company_unlabeled", 342),
    342: AssociationType("companies", "deals", "company_to_deal_unlabeled", 341),
}
# A primary association is also an unlabeled one: HubSpot lists both.
PRIMARY_ALSO_UNLABELED = {1: 279, 2: 280, 5: 341, 6: 342}
# The key a v3 GET lists associations under (with HubSpot's space in "line items").
ASSOCIATION_KEYS = {
    "deals": "deals",
    "line_items": "line items",
    "companies": "companies",
    "contacts": "contacts",
}

# (id, label, stages as (id, label, probability, is_closed)): HubSpot's default deal pipeline.
DEFAULT_PIPELINES = (
    (
        "default",
        "Sales Pipeline",
        (
            ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
            ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
            ("presentationscheduled", "Presentation Scheduled", "0.6", False),
            ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
            ("contractsent", "Contract Sent", "0.9", False),
            ("closedwon", "Closed Won", "1.0", True),
            ("closedlost", "Closed Lost", "0.0", True),
        ),
    ),
)

_random = secrets.SystemRandom()


# --- accounts ------------------------------------------------------------------------------


def sandbox_portal_create(
    *,
    redirect_uri: str = "http://localhost:8000/oauth/hubspot/callback",
    ten_secondly_limit: int = 110,
    daily_limit: int = 250_000,
    pipelines: tuple = DEFAULT_PIPELINES,
) -> HubSpotSandboxPortal:
    """An account with a fresh app client, a private-app token and the given deal pipelines."""
    hub_id = _random.randrange(10_000_000, 99_999_999)
    with transaction.atomic():
        portal = HubSpotSandboxPortal.objects.create(
            hub_id=hub_id,
            hub_domain=f"sandbox-{hub_id}.hubspot.test",
            app_id=_random.randrange(1_000_000, 9_999_999),
            client_id=str(uuid.uuid4()),
            client_secret=str(uuid.uuid4()),
            redirect_uri=redirect_uri,
            private_app_token=f"pat-na1-{uuid.uuid4()}",
            ten_secondly_limit=ten_secondly_limit,
            daily_limit=daily_limit,
        )
        for order, (pipeline_id, label, stages) in enumerate(pipelines):
            pipeline = HubSpotSandboxPipeline.objects.create(
                portal=portal, pipeline_id=pipeline_id, label=label, display_order=order
            )
            HubSpotSandboxPipelineStage.objects.bulk_create(
                HubSpotSandboxPipelineStage(
                    pipeline=pipeline,
                    stage_id=stage_id,
                    label=stage_label,
                    display_order=stage_order,
                    probability=Decimal(probability),
                    is_closed=is_closed,
                )
                for stage_order, (stage_id, stage_label, probability, is_closed) in enumerate(
                    stages
                )
            )
    return portal


# --- objects -------------------------------------------------------------------------------


def sandbox_object_create(
    *, portal: HubSpotSandboxPortal, object_type: str, body: Mapping
) -> HubSpotSandboxObject:
    """Create a record with its properties and associations (``POST /crm/v3/objects/{type}``)."""
    changes = _property_changes(body.get("properties"), object_type=object_type)
    associations = _association_inputs(body.get("associations"), object_type=object_type)
    now = _now()
    with transaction.atomic():
        _check_unique(portal=portal, object_type=object_type, changes=changes)
        record = HubSpotSandboxObject.objects.create(
            portal=portal, object_type=object_type, properties={}, created_at=now, updated_at=now
        )
        record.properties = _properties_computed(
            portal=portal, record=record, current={}, changes=changes, now=now
        )
        record.save(update_fields=["properties"])
        for type_id, target_id in associations:
            _associate(portal=portal, record=record, type_id=type_id, target_id=target_id)
    return record


def sandbox_object_update(
    *, portal: HubSpotSandboxPortal, object_type: str, object_id: str, body: Mapping
) -> HubSpotSandboxObject:
    """``PATCH /crm/v3/objects/{type}/{id}``: set properties; null or "" clears one."""
    changes = _property_changes(body.get("properties"), object_type=object_type)
    with transaction.atomic():
        record = _object_get(
            portal=portal, object_type=object_type, object_id=object_id, for_update=True
        )
        _check_unique(portal=portal, object_type=object_type, changes=changes, exclude=record.pk)
        now = _now()
        record.properties = _properties_computed(
            portal=portal, record=record, current=record.properties, changes=changes, now=now
        )
        record.updated_at = now
        record.save(update_fields=["properties", "updated_at"])
        if object_type == "line_items":
            for deal in _associated(record, to_type="deals"):
                _deal_amount_follow_lines(deal)
    return record


def sandbox_object_get(
    *, portal: HubSpotSandboxPortal, object_type: str, object_id: str
) -> HubSpotSandboxObject:
    return _object_get(portal=portal, object_type=object_type, object_id=object_id)


def sandbox_objects_page(
    *, portal: HubSpotSandboxPortal, object_type: str, limit: int, after: str
) -> tuple[list[HubSpotSandboxObject], str]:
    """One page of ``GET /crm/v3/objects/{type}`` by id, and the next page's cursor ("" at end)."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise HubSpotError(f"limit must be between 1 and {MAX_LIST_LIMIT}")
    start = 0
    if after:
        try:
            start = int(base64.urlsafe_b64decode(after.encode("ascii")).decode("ascii"))
        except (ValueError, UnicodeError):
            raise HubSpotError(f"after {after!r} is not a cursor this endpoint returned") from None
    records = list(
        HubSpotSandboxObject.objects.filter(
            portal=portal, object_type=object_type, id__gte=start
        ).order_by("id")[: limit + 1]
    )
    if len(records) <= limit:
        return records, ""
    next_id = str(records[limit].pk).encode("ascii")
    return records[:limit], base64.urlsafe_b64encode(next_id).decode("ascii")


def sandbox_objects_search(
    *, portal: HubSpotSandboxPortal, object_type: str, body: Mapping
) -> tuple[list[HubSpotSandboxObject], int, int | None, list[str] | None]:
    """``POST /crm/v3/objects/{type}/search``: (page, total, next offset or None, properties)."""
    if body.get("query"):
        raise HubSpotError("The sandbox's search does not support a free-text query")
    records = HubSpotSandboxObject.objects.filter(portal=portal, object_type=object_type)
    groups = _list(body.get("filterGroups") or [], "filterGroups")
    if len(groups) > MAX_FILTER_GROUPS:
        raise HubSpotError(f"At most {MAX_FILTER_GROUPS} filterGroups are allowed")
    if groups:
        condition = Q(pk__in=[])
        for index, group in enumerate(groups):
            condition |= _filter_group(group, path=f"filterGroups[{index}]")
        records = records.filter(condition)
    records = records.order_by(*_search_order(body.get("sorts") or []))
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise HubSpotError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
    after = body.get("after") or "0"
    if not isinstance(after, str) or not DIGITS_PATTERN.fullmatch(after):
        raise HubSpotError(f"after {after!r} is not a cursor this endpoint returned")
    offset = int(after)
    if offset >= SEARCH_RESULT_CAP:
        raise HubSpotError(
            f"Search results are limited to {SEARCH_RESULT_CAP:,}; narrow the filters instead of "
            f"paging to after={offset}",
        )
    page = list(records[offset : min(offset + limit, SEARCH_RESULT_CAP)])
    total = records.count()
    next_offset = offset + limit if offset + limit < total else None
    return page, total, next_offset, _property_names(body.get("properties"), "properties")


def sandbox_objects_batch_read(
    *, portal: HubSpotSandboxPortal, object_type: str, body: Mapping
) -> tuple[list[HubSpotSandboxObject], list[str], list[str] | None]:
    """``POST /crm/v3/objects/{type}/batch/read``: (found, missing ids, properties)."""
    if body.get("idProperty") or body.get("propertiesWithHistory"):
        raise HubSpotError("The sandbox's batch read supports neither idProperty nor history")
    ids = _input_ids(body, limit=MAX_BATCH_READ)
    found = {
        str(record.pk): record
        for record in HubSpotSandboxObject.objects.filter(
            portal=portal, object_type=object_type, pk__in=[int(i) for i in ids if i.isdigit()]
        )
    }
    ordered = [found[object_id] for object_id in dict.fromkeys(ids) if object_id in found]
    missing = [object_id for object_id in dict.fromkeys(ids) if object_id not in found]
    return ordered, missing, _property_names(body.get("properties"), "properties")


def sandbox_associations_batch_read(
    *, portal: HubSpotSandboxPortal, from_type: str, to_type: str, body: Mapping
) -> tuple[list[dict], list[str]]:
    """``POST /crm/v4/associations/{from}/{to}/batch/read``: (results, ids with none)."""
    ids = _input_ids(body, limit=MAX_ASSOCIATION_BATCH)
    rows = (
        HubSpotSandboxAssociation.objects.filter(
            portal=portal,
            from_object__object_type=from_type,
            from_object_id__in=[int(i) for i in ids if i.isdigit()],
            to_object__object_type=to_type,
        )
        .order_by("from_object_id", "to_object_id", "type_id")
        .values_list("from_object_id", "to_object_id", "type_id")
    )
    by_source: dict[str, dict[int, list[dict]]] = {}
    for from_id, to_id, type_id in rows:
        association_type = ASSOCIATION_TYPES[type_id]
        by_source.setdefault(str(from_id), {}).setdefault(to_id, []).append(
            {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": association_type.label}
        )
    results = [
        {
            "from": {"id": object_id},
            "to": [
                {"toObjectId": to_id, "associationTypes": types}
                for to_id, types in by_source[object_id].items()
            ],
        }
        for object_id in dict.fromkeys(ids)
        if object_id in by_source
    ]
    return results, [object_id for object_id in dict.fromkeys(ids) if object_id not in by_source]


def sandbox_pipelines(*, portal: HubSpotSandboxPortal) -> dict:
    """``GET /crm/v3/pipelines/deals``."""
    pipelines = portal.pipelines.prefetch_related("stages").order_by("display_order", "label")
    return {
        "results": [
            {
                "label": pipeline.label,
                "displayOrder": pipeline.display_order,
                "id": pipeline.pipeline_id,
                "stages": [
                    {
                        "label": stage.label,
                        "displayOrder": stage.display_order,
                        "metadata": {
                            "isClosed": "true" if stage.is_closed else "false",
                            "probability": str(stage.probability),
                        },
                        "id": stage.stage_id,
                        "createdAt": _iso(stage.created_at),
                        "updatedAt": _iso(stage.updated_at),
                        "archived": False,
                    }
                    for stage in sorted(pipeline.stages.all(), key=lambda s: s.display_order)
                ],
                "createdAt": _iso(pipeline.created_at),
                "updatedAt": _iso(pipeline.updated_at),
                "archived": False,
            }
            for pipeline in pipelines
        ]
    }


def object_json(
    record: HubSpotSandboxObject,
    *,
    properties: list[str] | None = None,
    associations: tuple[str, ...] = (),
) -> dict:
    """A record as HubSpot returns it: the asked-for properties (null when unset) or the
    type's defaults, always with its id and dates; associations listed by type when asked."""
    names = DEFAULT_PROPERTIES[record.object_type] if properties is None else properties
    always = ("createdate", MODIFIED_PROPERTY[record.object_type], "hs_object_id")
    shown = {name: record.properties.get(name) for name in (*names, *always)}
    answer = {
        "id": str(record.pk),
        "properties": shown,
        "createdAt": _iso(record.created_at),
        "updatedAt": _iso(record.updated_at),
        "archived": False,
    }
    by_type: dict[str, list[dict]] = {}
    if associations:
        # Every type asked for in one query, each type's entries in (id, type) order.
        rows = (
            record.associations_from.filter(to_object__object_type__in=associations)
            .order_by("to_object_id", "type_id")
            .values_list("to_object__object_type", "to_object_id", "type_id")
        )
        for to_type, to_id, type_id in rows:
            by_type.setdefault(to_type, []).append(
                {"id": str(to_id), "type": ASSOCIATION_TYPES[type_id].name}
            )
    listed = {
        ASSOCIATION_KEYS[to_type]: {"results": by_type[to_type]}
        for to_type in associations
        if to_type in by_type
    }
    if listed:
        answer["associations"] = listed
    return answer


def _object_get(
    *, portal: HubSpotSandboxPortal, object_type: str, object_id: str, for_update: bool = False
) -> HubSpotSandboxObject:
    records = HubSpotSandboxObject.objects.filter(portal=portal, object_type=object_type)
    if for_update:
        records = records.select_for_update()
    record = (
        records.filter(pk=int(object_id)).first() if DIGITS_PATTERN.fullmatch(object_id) else None
    )
    if record is None:
        raise HubSpotError(
            f"Object not found.  objectId are usually numeric. ({object_id})",
            status=404,
            category="OBJECT_NOT_FOUND",
        )
    return record


def _property_changes(value: object, *, object_type: str) -> dict[str, str | None]:
    """The request's properties as HubSpot stores them: strings; None clears a property."""
    if not isinstance(value, Mapping):
        raise HubSpotError("properties must be an object of property name to value")
    changes: dict[str, str | None] = {}
    errors = []
    for name, raw in value.items():
        if not isinstance(name, str) or not PROPERTY_NAME_PATTERN.fullmatch(name):
            errors.append(
                _property_error(str(name), "is not a property name", "PROPERTY_DOESNT_EXIST")
            )
            continue
        if name in READ_ONLY_PROPERTIES or name in COMPUTED_PROPERTIES[object_type]:
            errors.append(_property_error(name, "is a read only property", "READ_ONLY_VALUE"))
            continue
        if raw is None or raw == "":
            changes[name] = None
            continue
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | float | str):
            text = str(raw)
        else:
            errors.append(_property_error(name, "must be a string or a number", "INVALID_TYPE"))
            continue
        if name in NUMBER_PROPERTIES[object_type] and not NUMBER_PATTERN.fullmatch(text):
            errors.append(_property_error(name, f"{text!r} is not a number", "INVALID_DECIMAL"))
            continue
        if name in DATETIME_PROPERTIES.get(object_type, ()):
            moment = _timestamp(text)
            if moment is None:
                errors.append(_property_error(name, f"{text!r} is not a date-time", "INVALID_DATE"))
                continue
            text = _iso(moment)
        changes[name] = text
    if errors:
        raise HubSpotError("Property values were not valid", errors=tuple(errors))
    return changes


def _property_error(name: str, problem: str, code: str) -> dict:
    return {
        "message": f"Property {name!r} {problem}",
        "code": code,
        "context": {"propertyName": [name]},
    }


def _properties_computed(
    *,
    portal: HubSpotSandboxPortal,
    record: HubSpotSandboxObject,
    current: Mapping,
    changes: Mapping,
    now: datetime,
) -> dict:
    """The record's properties after ``changes``, checked, with HubSpot's computed ones."""
    properties = {**current, **changes}
    properties = {name: value for name, value in properties.items() if value is not None}
    object_type = record.object_type
    properties["hs_object_id"] = str(record.pk)
    properties["createdate"] = _iso(record.created_at)
    properties[MODIFIED_PROPERTY[object_type]] = _iso(now)
    if object_type == "deals":
        _deal_checked(portal=portal, properties=properties, changes=changes, now=now)
    elif object_type == "line_items":
        _line_item_priced(properties)
    return properties


def _deal_checked(
    *, portal: HubSpotSandboxPortal, properties: dict, changes: Mapping, now: datetime
) -> None:
    if not properties.get("dealname"):
        raise HubSpotError(
            "Property values were not valid",
            errors=(_property_error("dealname", "is required", "REQUIRED_PROPERTY"),),
        )
    properties.setdefault("pipeline", "default")
    stage = (
        HubSpotSandboxPipelineStage.objects.filter(
            pipeline__portal=portal,
            pipeline__pipeline_id=properties["pipeline"],
            stage_id=properties.get("dealstage", ""),
        ).first()
        if properties.get("dealstage")
        else None
    )
    if stage is None:
        raise HubSpotError(
            "Property values were not valid",
            errors=(
                _property_error(
                    "dealstage",
                    f"{properties.get('dealstage')!r} was not one of the allowed options of "
                    f"pipeline {properties['pipeline']!r}",
                    "INVALID_OPTION",
                ),
            ),
        )
    properties["hs_is_closed"] = "true" if stage.is_closed else "false"
    properties["hs_is_closed_won"] = (
        "true" if stage.is_closed and stage.probability == 1 else "false"
    )
    # HubSpot dates a deal's close when it enters a closed stage without a close date.
    if stage.is_closed and "dealstage" in changes and not properties.get("closedate"):
        properties["closedate"] = _iso(now)


def _line_item_priced(properties: dict) -> None:
    """amount = quantity x price less the unit discount (per unit) or the discount percentage."""
    for name in COMPUTED_PROPERTIES["line_items"]:
        properties.pop(name, None)
    quantity = Decimal(properties.get("quantity", "1"))
    properties.setdefault("quantity", "1")
    if "price" not in properties:
        return
    if properties.get("discount") and properties.get("hs_discount_percentage"):
        raise HubSpotError("A line item has either a unit discount or a discount percentage")
    gross = quantity * Decimal(properties["price"])
    if properties.get("discount"):
        discount = quantity * Decimal(properties["discount"])
    else:
        discount = gross * Decimal(properties.get("hs_discount_percentage", "0")) / HUNDRED
    amount = _cents(gross) - _cents(discount)
    properties["hs_pre_discount_amount"] = str(_cents(gross))
    properties["hs_total_discount"] = str(_cents(discount))
    properties["amount"] = str(amount)
    if properties.get("hs_tax_rate"):
        properties["hs_tax_amount"] = str(
            _cents(amount * Decimal(properties["hs_tax_rate"]) / HUNDRED)
        )


def _check_unique(
    *, portal: HubSpotSandboxPortal, object_type: str, changes: Mapping, exclude: int | None = None
) -> None:
    """HubSpot keeps one contact per email address."""
    email = changes.get("email")
    if object_type != "contacts" or not email:
        return
    existing = (
        HubSpotSandboxObject.objects.filter(
            portal=portal, object_type="contacts", properties__email=email
        )
        .exclude(pk=exclude)
        .first()
    )
    if existing is not None:
        raise HubSpotError(
            f"Contact already exists. Existing ID: {existing.pk}", status=409, category="CONFLICT"
        )


# --- associations --------------------------------------------------------------------------


def _association_inputs(value: object, *, object_type: str) -> list[tuple[int, str]]:
    """``associations: [{to: {id}, types: [{associationCategory, associationTypeId}]}]``."""
    inputs = []
    for index, entry in enumerate(_list(value or [], "associations")):
        path = f"associations[{index}]"
        entry = _object(entry, path)
        target_id = _object(entry.get("to"), f"{path}.to").get("id")
        if not isinstance(target_id, str | int) or not DIGITS_PATTERN.fullmatch(str(target_id)):
            raise HubSpotError(f"{path}.to.id must be an object id")
        types = _list(entry.get("types"), f"{path}.types")
        if not types:
            raise HubSpotError(f"{path}.types must name at least one association type")
        for type_index, spec in enumerate(types):
            spec = _object(spec, f"{path}.types[{type_index}]")
            type_id = spec.get("associationTypeId")
            association_type = ASSOCIATION_TYPES.get(type_id) if isinstance(type_id, int) else None
            if (
                spec.get("associationCategory") != "HUBSPOT_DEFINED"
                or association_type is None
                or association_type.from_type != object_type
            ):
                raise HubSpotError(
                    f"{path}.types[{type_index}] is not a HUBSPOT_DEFINED association type from "
                    f"{object_type}",
                    category="INVALID_ASSOCIATION",
                )
            inputs.append((type_id, str(target_id)))
    return inputs


def _associate(
    *, portal: HubSpotSandboxPortal, record: HubSpotSandboxObject, type_id: int, target_id: str
) -> None:
    association_type = ASSOCIATION_TYPES[type_id]
    target = HubSpotSandboxObject.objects.filter(
        portal=portal, object_type=association_type.to_type, pk=int(target_id)
    ).first()
    if target is None:
        raise HubSpotError(
            f"No {OBJECT_NAMES[association_type.to_type]} with id {target_id} to associate",
            status=404,
            category="OBJECT_NOT_FOUND",
        )
    if association_type.name in ("deal_to_line_item", "line_item_to_deal"):
        deal, line_item = (record, target) if record.object_type == "deals" else (target, record)
        if any(other.pk != deal.pk for other in _associated(line_item, to_type="deals")):
            raise HubSpotError(
                f"Line item {line_item.pk} already belongs to a deal; a line item has one parent",
                category="INVALID_ASSOCIATION",
            )
    type_ids = [
        type_id,
        *([PRIMARY_ALSO_UNLABELED[type_id]] if type_id in PRIMARY_ALSO_UNLABELED else []),
    ]
    for one_type in type_ids:
        for source, destination, stored_type in (
            (record, target, one_type),
            (target, record, ASSOCIATION_TYPES[one_type].inverse),
        ):
            HubSpotSandboxAssociation.objects.get_or_create(
                portal=portal, from_object=source, to_object=destination, type_id=stored_type
            )
    for deal in (record, target):
        if deal.object_type == "deals" and "line_items" in (record.object_type, target.object_type):
            _deal_amount_follow_lines(deal)


def _associated(record: HubSpotSandboxObject, *, to_type: str) -> list[HubSpotSandboxObject]:
    return list(
        HubSpotSandboxObject.objects.filter(
            associations_to__from_object=record, object_type=to_type
        ).distinct()
    )


def _deal_amount_follow_lines(deal: HubSpotSandboxObject) -> None:
    """A deal with line items is worth what they add up to, as HubSpot keeps it by default."""
    deal.refresh_from_db()
    amounts = [
        Decimal(line.properties.get("amount", "0"))
        for line in _associated(deal, to_type="line_items")
    ]
    now = _now()
    deal.properties = {
        **deal.properties,
        "amount": str(sum(amounts, Decimal(0))),
        "hs_lastmodifieddate": _iso(now),
    }
    deal.updated_at = now
    deal.save(update_fields=["properties", "updated_at"])


# --- search --------------------------------------------------------------------------------


def _filter_group(group: object, *, path: str) -> Q:
    filters = _list(_object(group, path).get("filters"), f"{path}.filters")
    if not 1 <= len(filters) <= MAX_FILTERS_PER_GROUP:
        raise HubSpotError(f"{path}.filters must hold 1 to {MAX_FILTERS_PER_GROUP} filters")
    condition = Q()
    for index, one in enumerate(filters):
        condition &= _filter(
            _object(one, f"{path}.filters[{index}]"), path=f"{path}.filters[{index}]"
        )
    return condition


def _filter(one: Mapping, *, path: str) -> Q:
    name = one.get("propertyName")
    operator = one.get("operator")
    if not isinstance(name, str) or not PROPERTY_NAME_PATTERN.fullmatch(name):
        raise HubSpotError(f"{path}.propertyName must be a property name")
    if operator == "IN":
        values = one.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise HubSpotError(f"{path}.values must list the strings to match")
        if name in SEARCH_COLUMNS:
            return Q(
                **{f"{SEARCH_COLUMNS[name]}__in": [_search_value(name, v, path) for v in values]}
            )
        return Q(**{f"properties__{name}__in": values})
    value = one.get("value")
    if not isinstance(value, str):
        raise HubSpotError(f"{path}.value must be a string")
    if name in SEARCH_COLUMNS:
        column = SEARCH_COLUMNS[name]
        compared = _search_value(name, value, path)
        if operator == "EQ":
            return Q(**{column: compared})
        if operator == "NEQ":
            return ~Q(**{column: compared})
        if operator in RANGE_OPERATORS:
            return Q(**{f"{column}__{RANGE_OPERATORS[operator]}": compared})
    elif operator == "EQ":
        return Q(**{f"properties__{name}": value})
    elif operator == "NEQ":
        return ~Q(**{f"properties__{name}": value}) | Q(**{f"properties__{name}__isnull": True})
    raise HubSpotError(
        f"{path}: the sandbox supports EQ, NEQ and IN on any property, and GT, GTE, LT, LTE on "
        f"{', '.join(sorted(SEARCH_COLUMNS))}; not {operator!r} on {name!r}"
    )


def _search_value(name: str, value: str, path: str) -> datetime | int:
    if name == "hs_object_id":
        if not DIGITS_PATTERN.fullmatch(value):
            raise HubSpotError(f"{path}.value {value!r} is not an object id")
        return int(value)
    moment = _timestamp(value)
    if moment is None:
        raise HubSpotError(f"{path}.value {value!r} is not epoch milliseconds or ISO 8601")
    return moment


def _search_order(sorts: object) -> list:
    """HubSpot sorts by one property; the docs send objects, the spec types them as strings."""
    sorts = _list(sorts, "sorts")
    if len(sorts) > 1:
        raise HubSpotError("Only one sort is allowed")
    if not sorts:
        return ["id"]
    sort = sorts[0]
    if isinstance(sort, str):
        name, descending = sort.removeprefix("-"), sort.startswith("-")
    else:
        sort = _object(sort, "sorts[0]")
        name = sort.get("propertyName")
        direction = sort.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise HubSpotError("sorts[0].direction must be ASCENDING or DESCENDING")
        descending = direction == "DESCENDING"
    column = SEARCH_COLUMNS.get(name) if isinstance(name, str) else None
    if column is None:
        raise HubSpotError(
            f"sorts[0]: the sandbox sorts by {', '.join(sorted(SEARCH_COLUMNS))}; not {name!r}"
        )
    prefix = "-" if descending else ""
    # The id breaks ties, so pages of equal timestamps neither repeat nor skip records.
    return [f"{prefix}{column}", f"{prefix}id"]


# --- plumbing ------------------------------------------------------------------------------


def _input_ids(body: Mapping, *, limit: int) -> list[str]:
    inputs = _list(body.get("inputs"), "inputs")
    if not 1 <= len(inputs) <= limit:
        raise HubSpotError(f"inputs must hold 1 to {limit} entries")
    ids = []
    for index, entry in enumerate(inputs):
        object_id = _object(entry, f"inputs[{index}]").get("id")
        if (
            not isinstance(object_id, str | int)
            or isinstance(object_id, bool)
            or not str(object_id)
        ):
            raise HubSpotError(f"inputs[{index}].id must be an object id")
        ids.append(str(object_id))
    return ids


def _property_names(value: object, path: str) -> list[str] | None:
    if value is None:
        return None
    names = _list(value, path)
    if not all(isinstance(name, str) and PROPERTY_NAME_PATTERN.fullmatch(name) for name in names):
        raise HubSpotError(f"{path} must list property names")
    return list(dict.fromkeys(names))


def _timestamp(text: str) -> datetime | None:
    """Epoch milliseconds or ISO 8601 with an offset; None when it is neither."""
    if DIGITS_PATTERN.fullmatch(text):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(text))
    try:
        moment = datetime.fromisoformat(text) if "T" in text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _now() -> datetime:
    """Now to the millisecond: the stored time is exactly the one the JSON shows, so a search
    filter at a record's ``hs_lastmodifieddate`` finds that record."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _object(value: object, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise HubSpotError(f"{path} must be an object")
    return value


def _list(value: object, path: str) -> list:
    if not isinstance(value, list):
        raise HubSpotError(f"{path} must be a list")
    return value


# --- views ---------------------------------------------------------------------------------


def crm_endpoint(view):
    """A CRM view ``(request, *, portal, body, **url_kwargs)``: the kit's endpoint, with the
    object types the path names resolved."""

    @functools.wraps(view)
    def resolved(request, **kwargs):
        for name in ("object_type", "from_type", "to_type"):
            if name in kwargs:
                kwargs[name] = _object_type(kwargs[name])
        return view(request, **kwargs)

    return api.endpoint()(resolved)


def _object_type(segment: str) -> str:
    object_type = OBJECT_TYPES.get(segment)
    if object_type is None:
        raise HubSpotError(f"Unable to infer object type from: {segment}")
    return object_type


def _query_names(request, key: str) -> list[str] | None:
    """``?properties=a,b`` or ``?properties=a&properties=b``; None when not given."""
    values = request.GET.getlist(key)
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not all(PROPERTY_NAME_PATTERN.fullmatch(name) for name in names):
        raise HubSpotError(f"{key} must list property names")
    return list(dict.fromkeys(names))


def _query_associations(request) -> tuple[str, ...]:
    return tuple(_object_type(name) for name in _query_names(request, "associations") or ())


def _query_int(request, key: str, default: int) -> int:
    value = request.GET.get(key)
    if value is None:
        return default
    if not DIGITS_PATTERN.fullmatch(value):
        raise HubSpotError(f"{key} must be a whole number")
    return int(value)


def _batch_answer(results: list[dict], *, errors: list[dict]) -> JsonResponse:
    now = _iso(_now())
    answer = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
    if errors:
        answer.update(numErrors=len(errors), errors=errors)
    return JsonResponse(answer, status=207 if errors else 200)


@crm_endpoint
def objects_view(request, *, portal, body, object_type):
    if request.method == "POST":
        record = sandbox_object_create(portal=portal, object_type=object_type, body=body)
        return JsonResponse(object_json(record), status=201)
    records, after = sandbox_objects_page(
        portal=portal,
        object_type=object_type,
        limit=_query_int(request, "limit", 10),
        after=request.GET.get("after", ""),
    )
    properties, associations = _query_names(request, "properties"), _query_associations(request)
    answer: dict = {
        "results": [
            object_json(record, properties=properties, associations=associations)
            for record in records
        ]
    }
    if after:
        answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return JsonResponse(answer)


@crm_endpoint
def object_view(request, *, portal, body, object_type, object_id):
    if request.GET.get("idProperty"):
        raise HubSpotError("The sandbox does not support idProperty")
    if request.method == "PATCH":
        record = sandbox_object_update(
            portal=portal, object_type=object_type, object_id=object_id, body=body
        )
        return JsonResponse(object_json(record))
    record = sandbox_object_get(portal=portal, object_type=object_type, object_id=object_id)
    return JsonResponse(
        object_json(
            record,
            properties=_query_names(request, "properties"),
            associations=_query_associations(request),
        )
    )


@crm_endpoint
def objects_search_view(request, *, portal, body, object_type):
    records, total, next_offset, properties = sandbox_objects_search(
        portal=portal, object_type=object_type, body=body
    )
    answer: dict = {
        "total": total,
        "results": [object_json(record, properties=properties) for record in records],
    }
    if next_offset is not None:
        answer["paging"] = {"next": {"after": str(next_offset), "link": f"?after={next_offset}"}}
    return JsonResponse(answer)


@crm_endpoint
def objects_batch_read_view(request, *, portal, body, object_type):
    records, missing, properties = sandbox_objects_batch_read(
        portal=portal, object_type=object_type, body=body
    )
    errors = []
    if missing:
        errors.append(
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {OBJECT_NAMES[object_type]} objects, they may be "
                "deleted or not exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        )
    return _batch_answer(
        [object_json(record, properties=properties) for record in records], errors=errors
    )


@crm_endpoint
def associations_batch_read_view(request, *, portal, body, from_type, to_type):
    results, without = sandbox_associations_batch_read(
        portal=portal, from_type=from_type, to_type=to_type, body=body
    )
    errors = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"No {to_type} are associated with {from_type} {object_id}",
            "context": {"fromObjectId": [object_id]},
        }
        for object_id in without
    ]
    return _batch_answer(results, errors=errors)


@crm_endpoint
def pipelines_view(request, *, portal, body, object_type):
    if object_type != "deals":
        raise HubSpotError(f"The sandbox keeps pipelines for deals only, not {object_type}")
    return JsonResponse(sandbox_pipelines(portal=portal))
