"""Pipedrive sandbox: the semantics of the API paths the Pipedrive connector calls, mounted at
/sandbox/pipedrive/ when ``settings.SANDBOX_ENABLED`` (its HTTP conventions and OAuth: api.py).

How it behaves, where Pipedrive's behaviour matters to a client:
- Lists page with signed keyset cursors (``additional_data.next_cursor``, null at the end);
  ``updated_since`` is inclusive, ``updated_until`` exclusive; ``/api/v2/deals`` leaves
  archived deals out and ``/api/v2/deals/archived`` lists only them. Money is JSON numbers.
- Webhooks v2: a change made through the API is delivered to the company's subscriptions in
  Pipedrive's shape, with their Basic credentials; a failed first try (non-2xx or no answer in
  10 s) is tried again after 3, 30 and 150 s; ten failed first tries in a row ban the webhook
  for 30 minutes, and what happens meanwhile is never sent.
"""

import base64
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import requests
from django.db import transaction
from django.utils import timezone

from sandboxes.kit.cursors import keyset_page
from sandboxes.pipedrive.api import PipedriveError
from sandboxes.pipedrive.models import (
    PipedriveSandboxCompany,
    PipedriveSandboxRecord,
    PipedriveSandboxWebhook,
)

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_IDS = 100
# Webhook delivery: the first try's timeout, the retries' delays, the ban.
DELIVERY_TIMEOUT_SECONDS = 10.0
RETRY_DELAYS_SECONDS = (3.0, 30.0, 150.0)
BAN_AFTER_FIRST_TRY_FAILURES = 10
BAN_SECONDS = 30 * 60
MAX_WEBHOOKS = 40
STATUSES = ("open", "won", "lost", "deleted")
TAX_METHODS = ("exclusive", "inclusive", "none")
DISCOUNT_TYPES = ("percentage", "amount")
CENT = Decimal("0.01")
Kind = PipedriveSandboxRecord.Kind

logger = logging.getLogger(__name__)


# --- companies ----------------------------------------------------------------------------


def sandbox_company_create(*, redirect_uri: str) -> PipedriveSandboxCompany:
    company_id = 10_000_000 + secrets.randbelow(89_999_999)
    return PipedriveSandboxCompany.objects.create(
        company_id=company_id,
        user_id=20_000_000 + secrets.randbelow(79_999_999),
        domain=f"company-{company_id}",
        client_id=secrets.token_hex(8),
        client_secret=secrets.token_hex(20),
        redirect_uri=redirect_uri,
        api_token=secrets.token_hex(20),
        tin_field_key=secrets.token_hex(20),
    )


# --- records -------------------------------------------------------------------------------


def deal_create(*, company, body: Mapping, announce: bool = True) -> PipedriveSandboxRecord:
    """A deal made through the API; ``announce``: delivered to the webhooks (the traffic
    sender delivers its own)."""
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise PipedriveError("Title is required")
    now = timezone.now()
    deal = PipedriveSandboxRecord(
        company=company, kind=Kind.DEAL, status="open", add_time=now, update_time=now
    )
    deal.data = {"title": title, "value": 0, "currency": "NGN", "pipeline_id": 1, "stage_id": 1}
    _deal_apply(deal, body, now=now)
    deal.save()
    if announce:
        _announce(company, "create", deal, previous=None)
    return deal


def deal_update(
    *, company, deal_id: int, body: Mapping, announce: bool = True
) -> tuple[PipedriveSandboxRecord, dict]:
    """The deal changed, and ``previous`` (its changed fields as they were) as webhooks v2
    shows it."""
    with transaction.atomic():
        deal = record_get(company=company, kind=Kind.DEAL, record_id=deal_id, lock=True)
        before = deal_json(deal)
        now = timezone.now()
        _deal_apply(deal, body, now=now)
        deal.update_time = now
        deal.save()
    after = deal_json(deal)
    previous = {key: value for key, value in before.items() if after.get(key) != value}
    previous.pop("update_time", None)
    previous = _webhook_data(previous)
    if previous and announce:
        _announce(company, "change", deal, previous=previous)
    return deal, previous


def _deal_apply(deal: PipedriveSandboxRecord, body: Mapping, *, now: datetime) -> None:
    for key in ("title", "person_id", "org_id", "pipeline_id", "stage_id", "currency"):
        if key in body:
            deal.data[key] = body[key]
    if "value" in body:
        deal.data["value"] = _number(body, "value")
    status = body.get("status", deal.status)
    if status not in STATUSES:
        raise PipedriveError(f"status must be one of {', '.join(STATUSES)}")
    if status != deal.status:
        deal.data["won_time"] = _iso(now) if status == "won" else None
        deal.data["lost_time"] = _iso(now) if status == "lost" else None
        deal.data["close_time"] = _iso(now) if status in ("won", "lost") else None
        deal.status = status
    if "is_archived" in body:
        deal.is_archived = bool(body["is_archived"])


def deal_product_add(*, company, deal_id: int, body: Mapping) -> PipedriveSandboxRecord:
    with transaction.atomic():
        deal = record_get(company=company, kind=Kind.DEAL, record_id=deal_id, lock=True)
        method = body.get("tax_method", "exclusive")
        discount_type = body.get("discount_type", "percentage")
        if method not in TAX_METHODS or discount_type not in DISCOUNT_TYPES:
            raise PipedriveError("tax_method or discount_type is not valid")
        price, quantity = _number(body, "item_price"), _number(body, "quantity", default=1)
        discount, tax = _number(body, "discount", default=0), _number(body, "tax", default=0)
        now = timezone.now()
        siblings = list(
            PipedriveSandboxRecord.objects.filter(
                company=company, kind=Kind.DEAL_PRODUCT, deal_id=deal.pk
            )
        )
        line = PipedriveSandboxRecord.objects.create(
            company=company,
            kind=Kind.DEAL_PRODUCT,
            deal_id=deal.pk,
            add_time=now,
            update_time=now,
            data={
                "product_id": body.get("product_id"),
                "name": str(body.get("name") or f"Product {len(siblings) + 1}"),
                "item_price": price,
                "quantity": quantity,
                "discount": discount,
                "discount_type": discount_type,
                "tax": tax,
                "comments": body.get("comments"),
                "is_enabled": body.get("is_enabled", True) is not False,
                "order_nr": len(siblings) + 1,
            },
        )
        # The tax method is the deal's: changing it on one product changes it on all.
        products = [*siblings, line]
        for product in products:
            product.data["tax_method"] = method
            product.save(update_fields=["data"])
        enabled = [one.data for one in products if one.data["is_enabled"]]
        deal.data["value"] = float(sum(map(product_sum, enabled), Decimal(0)))
        deal.update_time = now
        deal.save(update_fields=["data", "update_time"])
    return line


def product_sum(data: Mapping) -> Decimal:
    """A deal product's ``sum`` as Pipedrive shows it: the line less its discount, with the
    tax added when it is exclusive."""
    gross = _cents(Decimal(repr(data["item_price"])) * Decimal(repr(data["quantity"])))
    discount = Decimal(repr(data["discount"]))
    if data["discount_type"] == "percentage":
        discount = _cents(gross * discount / 100)
    net = gross - _cents(discount)
    if data["tax_method"] == "exclusive":
        return _cents(net * (1 + Decimal(repr(data["tax"])) / 100))
    return net


def party_create(*, company, kind: str, body: Mapping) -> PipedriveSandboxRecord:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PipedriveError("Name is required")
    allowed = ("name", "emails", "phones", "org_id", "address", "custom_fields")
    now = timezone.now()
    return PipedriveSandboxRecord.objects.create(
        company=company,
        kind=kind,
        add_time=now,
        update_time=now,
        data={key: body[key] for key in allowed if key in body},
    )


def note_create(*, company, body: Mapping) -> PipedriveSandboxRecord:
    deal = record_get(company=company, kind=Kind.DEAL, record_id=body.get("deal_id"))
    content = body.get("content")
    if not isinstance(content, str) or not content:
        raise PipedriveError("Content is required")
    now = timezone.now()
    return PipedriveSandboxRecord.objects.create(
        company=company,
        kind=Kind.NOTE,
        deal_id=deal.pk,
        add_time=now,
        update_time=now,
        data={"content": content},
    )


def record_get(*, company, kind: str, record_id, lock=False) -> PipedriveSandboxRecord:
    rows = PipedriveSandboxRecord.objects.filter(company=company, kind=kind)
    if lock:
        rows = rows.select_for_update()
    found = rows.filter(pk=record_id).first() if str(record_id).isdigit() else None
    if found is None:
        raise PipedriveError(f"{kind.replace('_', ' ').capitalize()} not found", status=404)
    return found


def records_page(*, company, kind: str, query: Mapping, path: str, **filters) -> dict:
    """A v2 list: ``ids``, ``status``, ``updated_since`` / ``updated_until``, ``sort_by``,
    ``sort_direction``, ``limit`` and ``cursor``, in Pipedrive's envelope."""
    rows = PipedriveSandboxRecord.objects.select_related("company").filter(
        company=company, kind=kind, **filters
    )
    if query.get("ids"):
        rows = rows.filter(pk__in=_ids(query["ids"]))
    if query.get("deal_ids"):
        rows = rows.filter(deal_id__in=_ids(query["deal_ids"]))
    if query.get("status"):
        statuses = query["status"].split(",")
        if set(statuses) - set(STATUSES):
            raise PipedriveError("status is not valid")
        rows = rows.filter(status__in=statuses)
    for name, lookup in (("updated_since", "gte"), ("updated_until", "lt")):
        if query.get(name):
            rows = rows.filter(**{f"update_time__{lookup}": _moment(query[name], name)})
    sort_by = query.get("sort_by", "id")
    if sort_by not in ("id", "update_time", "add_time"):
        raise PipedriveError("sort_by is not valid")
    limit = query.get("limit", str(DEFAULT_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise PipedriveError(f"limit must be 1 to {MAX_LIMIT}")
    page, next_cursor = keyset_page(
        rows,
        # Ids grow with add_time: both sort alike.
        sort_field="update_time" if sort_by == "update_time" else "add_time",
        id_field="id",
        descending=query.get("sort_direction") == "desc",
        limit=int(limit),
        cursor=query.get("cursor"),
        query={**{k: v for k, v in query.items() if k not in ("cursor", "limit")}, "path": path},
        salt="pipedrive-sandbox-cursor",
        invalid=lambda: PipedriveError("Invalid cursor"),
    )
    return {
        "success": True,
        "data": [record_json(row) for row in page],
        "additional_data": {"next_cursor": next_cursor},
    }


def record_json(record: PipedriveSandboxRecord) -> dict:
    if record.kind == Kind.DEAL:
        return deal_json(record)
    common = {"id": record.pk, "add_time": _iso(record.add_time)}
    if record.kind == Kind.DEAL_PRODUCT:
        return {
            **common,
            **record.data,
            "deal_id": record.deal_id,
            "product_variation_id": None,
            "currency": "NGN",
            "sum": float(product_sum(record.data)),
            "billing_frequency": "one-time",
            "update_time": _iso(record.update_time),
        }
    if record.kind == Kind.NOTE:
        return {**common, **record.data, "deal_id": record.deal_id}
    return {**common, "custom_fields": {}, **record.data, "update_time": _iso(record.update_time)}


def deal_json(deal: PipedriveSandboxRecord) -> dict:
    data = deal.data
    return {
        "id": deal.pk,
        "title": data["title"],
        "owner_id": deal.company.user_id,
        "person_id": data.get("person_id"),
        "org_id": data.get("org_id"),
        "stage_id": data.get("stage_id"),
        "pipeline_id": data.get("pipeline_id"),
        "value": data.get("value", 0),
        "currency": data.get("currency", "NGN"),
        "add_time": _iso(deal.add_time),
        "update_time": _iso(deal.update_time),
        "status": deal.status,
        "is_deleted": False,
        "is_archived": deal.is_archived,
        "probability": None,
        "lost_reason": None,
        "visible_to": 3,
        "close_time": data.get("close_time"),
        "won_time": data.get("won_time"),
        "lost_time": data.get("lost_time"),
        "expected_close_date": None,
        "label_ids": [],
        "custom_fields": {},
    }


# --- webhooks ------------------------------------------------------------------------------


def webhook_create(*, company, body: Mapping) -> PipedriveSandboxWebhook:
    url = body.get("subscription_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise PipedriveError("subscription_url must be an http(s) URL")
    action, entity = body.get("event_action"), body.get("event_object")
    if action not in ("create", "change", "delete", "*") or entity not in ("deal", "*"):
        raise PipedriveError("event_action or event_object is not valid")
    if company.webhooks.count() >= MAX_WEBHOOKS:
        raise PipedriveError(f"A user can have at most {MAX_WEBHOOKS} webhooks")
    return PipedriveSandboxWebhook.objects.create(
        company=company,
        subscription_url=url,
        event_action=action,
        event_object=entity,
        http_auth_user=str(body.get("http_auth_user") or ""),
        http_auth_password=str(body.get("http_auth_password") or ""),
        version=str(body.get("version") or "2.0"),
    )


def webhook_json(webhook: PipedriveSandboxWebhook) -> dict:
    return {
        "id": webhook.pk,
        "company_id": webhook.company.company_id,
        "owner_id": webhook.company.user_id,
        "event_action": webhook.event_action,
        "event_object": webhook.event_object,
        "subscription_url": webhook.subscription_url,
        "version": webhook.version,
        "is_active": 1,
        "add_time": _iso(webhook.created_at),
        "http_auth_user": webhook.http_auth_user or None,
        "http_auth_password": "*****" if webhook.http_auth_password else None,
        "last_http_status": webhook.last_http_status,
        "banned_until": _iso(webhook.banned_until) if webhook.banned_until else None,
    }


def webhook_payload(
    company, action: str, deal: PipedriveSandboxRecord, *, previous, webhook_id="0"
) -> dict:
    """A deal event in the shape of webhooks v2 (the first attempt)."""
    user = str(company.user_id)
    return {
        "data": _webhook_data(deal_json(deal)),
        "previous": previous,
        "meta": {
            "action": action,
            "entity": "deal",
            "company_id": str(company.company_id),
            "correlation_id": str(uuid.uuid4()),
            "entity_id": str(deal.pk),
            "id": str(uuid.uuid4()),
            "is_bulk_edit": False,
            "timestamp": _iso(timezone.now()),
            "type": "general",
            "user_id": user,
            "version": "2.0",
            "webhook_id": str(webhook_id),
            "webhook_owner_id": user,
            "permitted_user_ids": [user],
            "change_source": "api",
            "attempt": 1,
            "host": f"{company.domain}.pipedrive.com",
        },
    }


def _webhook_data(values: Mapping) -> dict:
    # The webhook's deal is a reduced object: no archive flag, visible_to as a string.
    data = {key: value for key, value in values.items() if key not in ("is_archived",)}
    if "visible_to" in data:
        data["visible_to"] = str(data["visible_to"])
    return data


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _announce(company, action: str, deal, *, previous) -> None:
    """Deliver the change to each subscription, after the change is committed."""
    hooks = [
        hook
        for hook in company.webhooks.all()
        if hook.event_action in (action, "*") and hook.event_object in ("deal", "*")
    ]
    for hook in hooks:
        payload = webhook_payload(company, action, deal, previous=previous, webhook_id=hook.pk)
        transaction.on_commit(lambda hook=hook, payload=payload: _deliver_later(hook.pk, payload))


def _deliver_later(webhook_id: int, payload: dict) -> None:
    threading.Thread(target=_delivery_thread, args=(webhook_id, payload), daemon=True).start()


def _delivery_thread(webhook_id: int, payload: dict) -> None:
    from django.db import connection as db_connection

    try:
        webhook_deliver(webhook_id, payload)
    finally:
        db_connection.close()  # the thread's own connection, opened for the delivery


def webhook_deliver(webhook_id: int, payload: dict, *, sleep: Callable = time.sleep) -> bool:
    """Pipedrive's delivery of one event: a first try, then up to three retries; a banned
    webhook sends nothing. True once an attempt got a 2xx."""
    hook = PipedriveSandboxWebhook.objects.filter(pk=webhook_id).first()
    if hook is None or (hook.banned_until and hook.banned_until > timezone.now()):
        return False
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS_SECONDS), start=1):
        sleep(delay)
        payload["meta"]["attempt"] = attempt
        status = _post(hook, payload)
        _delivery_record(hook, status=status, first_try=attempt == 1)
        if status and 200 <= status < 300:
            return True
        if (
            attempt == 1
            and PipedriveSandboxWebhook.objects.filter(
                pk=hook.pk, banned_until__gt=timezone.now()
            ).exists()
        ):
            return False
    return False


def _post(hook: PipedriveSandboxWebhook, payload: dict) -> int | None:
    headers = {"Content-Type": "application/json", "User-Agent": "Pipedrive Webhooks"}
    if hook.http_auth_user or hook.http_auth_password:
        headers["Authorization"] = basic_header(hook.http_auth_user, hook.http_auth_password)
    try:
        response = requests.post(
            hook.subscription_url, json=payload, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS
        )
    except requests.RequestException:
        return None
    return response.status_code


def _delivery_record(hook, *, status: int | None, first_try: bool) -> None:
    ok = status is not None and 200 <= status < 300
    fields = {"last_delivery_at": timezone.now(), "last_http_status": status}
    if ok:
        fields["first_try_failures"] = 0
    elif first_try:
        hook.first_try_failures += 1
        fields["first_try_failures"] = hook.first_try_failures
        if hook.first_try_failures >= BAN_AFTER_FIRST_TRY_FAILURES:
            fields["first_try_failures"] = hook.first_try_failures = 0
            fields["banned_until"] = timezone.now() + timedelta(seconds=BAN_SECONDS)
            logger.warning("Pipedrive sandbox: webhook %s banned for 30 minutes", hook.pk)
    PipedriveSandboxWebhook.objects.filter(pk=hook.pk).update(**fields)


# --- values --------------------------------------------------------------------------------


def _number(body: Mapping, key: str, default=None) -> float | int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PipedriveError(f"{key} must be a number")
    return value


def _ids(text: str) -> list[int]:
    ids = text.split(",")
    if len(ids) > MAX_IDS or not all(one.isdigit() for one in ids):
        raise PipedriveError(f"ids must be up to {MAX_IDS} comma-separated numbers")
    return [int(one) for one in ids]


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PipedriveError(f"{name} must be an RFC 3339 date-time")
    return moment


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
