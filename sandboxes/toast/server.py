"""The Toast sandbox's semantics: logins, orders priced as Toast prices them (``pricing``), GET
by GUID, ordersBulk by modified window with ``Link`` paging, and the controls a till's later
changes need (refund a check, void a check, combine an order into another). A change made
through these paths is delivered to the restaurant's webhook subscription (``webhooks``); the
services alone announce nothing (the traffic sender delivers its own)."""

import copy
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from sandboxes.kit.endpoints import query_params
from sandboxes.toast import pricing
from sandboxes.toast.api import TOKEN_LIFETIME, ToastError, api, bulk_rate_check, login_make
from sandboxes.toast.models import ToastSandboxOrder, ToastSandboxRestaurant
from sandboxes.toast.webhooks import announce

LAGOS = ZoneInfo("Africa/Lagos")
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=31)


def toast_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _business_date(moment: datetime) -> int:
    return int(moment.astimezone(LAGOS).strftime("%Y%m%d"))


def _now() -> datetime:
    # Toast's times have milliseconds: the stored column agrees with the order's text.
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# --- services ------------------------------------------------------------------------------


def sandbox_order_create(
    *, restaurant: ToastSandboxRestaurant, body: Mapping, at: datetime | None = None
) -> ToastSandboxOrder:
    """A posted order, priced; ToastError 400 naming the field when it cannot be."""
    moment = at or _now()
    guid = str(uuid.uuid4())
    try:
        data = pricing.order_priced(
            body, guid=guid, now_text=toast_time(moment), business_date=_business_date(moment)
        )
    except pricing.PricingError as error:
        raise ToastError(str(error)) from None
    return ToastSandboxOrder.objects.create(
        restaurant=restaurant, guid=guid, modified_at=moment, data=data
    )


def _order_for_update(restaurant: ToastSandboxRestaurant, guid: str) -> ToastSandboxOrder:
    order = ToastSandboxOrder.objects.select_for_update().filter(restaurant=restaurant, guid=guid)
    found = order.first()
    if found is None:
        raise ToastError(f"No order {guid}", status=404, code=10004)
    return found


def _check(order: ToastSandboxOrder, check_guid: str) -> dict:
    for check in order.data["checks"]:
        if check["guid"] == check_guid or not check_guid:
            return check
    raise ToastError(f"The order has no check {check_guid}", field="checkGuid")


def _touched(order: ToastSandboxOrder, check: dict | None = None) -> None:
    moment = _now()
    text = toast_time(moment)
    order.data["modifiedDate"] = text
    if check is not None:
        check["modifiedDate"] = text
    order.modified_at = moment
    order.save(update_fields=["data", "modified_at"])


def sandbox_check_refund(
    *, restaurant: ToastSandboxRestaurant, guid: str, check_guid: str = "", amount: Decimal
) -> dict:
    """Refund ``amount`` (tax included) of a paid check's payment; the refund object."""
    with transaction.atomic():
        order = _order_for_update(restaurant, guid)
        check = _check(order, check_guid)
        try:
            refund = pricing.refund_apply(check, amount=amount, now=toast_time(_now()))
        except pricing.PricingError as error:
            raise ToastError(str(error), field="amount") from None
        _touched(order, check)
    return refund


def sandbox_check_void(*, restaurant: ToastSandboxRestaurant, guid: str, check_guid: str) -> dict:
    with transaction.atomic():
        order = _order_for_update(restaurant, guid)
        check = _check(order, check_guid)
        check["voided"] = True
        _touched(order, check)
    return order.data


def sandbox_order_combine(*, restaurant: ToastSandboxRestaurant, guid: str, into: str) -> dict:
    """Move the order's checks into ``into``: the order is then ``deleted``, as Toast does."""
    with transaction.atomic():
        order = _order_for_update(restaurant, guid)
        target = _order_for_update(restaurant, into)
        target.data["checks"].extend(copy.deepcopy(order.data["checks"]))
        order.data["deleted"] = True
        _touched(order)
        _touched(target)
    return target.data


def _toast_time_param(params: Mapping[str, str], key: str) -> datetime:
    text = params.get(key, "")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        raise ToastError(f"{key} must be like 2026-11-22T18:30:01.000+0000", field=key) from None


def _whole(params: Mapping[str, str], key: str, *, default: int, low: int, high: int) -> int:
    text = params.get(key)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ToastError(f"{key} must be a whole number from {low} to {high}", field=key)
    return int(text)


def sandbox_orders_bulk(
    *, restaurant: ToastSandboxRestaurant, params: Mapping[str, str], url: str
) -> tuple[list, str]:
    """(orders modified in [startDate, endDate), the Link header) of one page."""
    start = _toast_time_param(params, "startDate")
    end = _toast_time_param(params, "endDate")
    if end <= start:
        raise ToastError("endDate must be after startDate", field="endDate")
    if end - start > MAX_WINDOW:
        raise ToastError("The startDate to endDate window must be at most a month", field="endDate")
    page = _whole(params, "page", default=1, low=1, high=10**6)
    size = _whole(params, "pageSize", default=MAX_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    rows = ToastSandboxOrder.objects.filter(
        restaurant=restaurant, modified_at__gte=start, modified_at__lt=end
    ).order_by("modified_at", "guid")
    found = list(rows[(page - 1) * size : page * size + 1])
    has_next = len(found) > size

    def link(number: int, rel: str) -> str:
        query = {**params, "page": str(number), "pageSize": str(size)}
        return f'<{url}?{urlencode(query)}>; rel="{rel}"'

    links = [link(1, "first"), link(page, "self")]
    if page > 1:
        links.append(link(page - 1, "prev"))
    if has_next:
        links.append(link(page + 1, "next"))
    return [row.data for row in found[:size]], ", ".join(links)


# --- views ---------------------------------------------------------------------------------


@api.endpoint("Login", authenticated=False, counted=False)
def login_view(request, *, body):
    client_id, client_secret = body.get("clientId"), body.get("clientSecret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise ToastError("clientId and clientSecret are required", field="clientId")
    if body.get("userAccessType") != "TOAST_MACHINE_CLIENT":
        raise ToastError("userAccessType must be TOAST_MACHINE_CLIENT", field="userAccessType")
    login = login_make(client_id=client_id, client_secret=client_secret)
    return JsonResponse(
        {
            "@class": ".SuccessfulResponse",
            "token": {
                "tokenType": "Bearer",
                "scope": None,
                "expiresIn": int(TOKEN_LIFETIME.total_seconds()),
                "accessToken": login.access_token,
                "idToken": None,
                "refreshToken": None,
            },
            "status": "SUCCESS",
        }
    )


@api.endpoint("CreateOrder")
def order_create_view(request, *, restaurant, body):
    order = sandbox_order_create(restaurant=restaurant, body=body)
    announce(restaurant=restaurant, order=order.data)
    return JsonResponse(order.data)


def _announced(restaurant: ToastSandboxRestaurant, guid: str) -> None:
    announce(
        restaurant=restaurant,
        order=ToastSandboxOrder.objects.get(restaurant=restaurant, guid=guid).data,
    )


@api.endpoint("GetOrder")
def order_view(request, *, restaurant, body, guid):
    order = ToastSandboxOrder.objects.filter(restaurant=restaurant, guid=guid).first()
    if order is None:
        raise ToastError(f"No order {guid}", status=404, code=10004)
    return JsonResponse(order.data)


@api.endpoint("OrdersBulk")
def orders_bulk_view(request, *, restaurant, body):
    bulk_rate_check(restaurant)
    orders, links = sandbox_orders_bulk(
        restaurant=restaurant,
        params=query_params(request),
        url=request.build_absolute_uri(request.path),
    )
    response = JsonResponse(orders, safe=False)
    response["Link"] = links
    return response


@api.endpoint("RefundCheck", faulted=False, counted=False)
def check_refund_view(request, *, restaurant, body, guid):
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise ToastError("amount must be a number", field="amount")
    refund = sandbox_check_refund(
        restaurant=restaurant,
        guid=guid,
        check_guid=str(body.get("checkGuid") or ""),
        amount=Decimal(str(amount)),
    )
    _announced(restaurant, guid)
    return JsonResponse(refund)


@api.endpoint("VoidCheck", faulted=False, counted=False)
def check_void_view(request, *, restaurant, body, guid):
    order = sandbox_check_void(
        restaurant=restaurant, guid=guid, check_guid=str(body.get("checkGuid") or "")
    )
    announce(restaurant=restaurant, order=order)
    return JsonResponse(order)


@api.endpoint("CombineOrder", faulted=False, counted=False)
def order_combine_view(request, *, restaurant, body, guid):
    into = body.get("intoOrderGuid")
    if not isinstance(into, str) or not into:
        raise ToastError("intoOrderGuid is required", field="intoOrderGuid")
    target = sandbox_order_combine(restaurant=restaurant, guid=guid, into=into)
    _announced(restaurant, guid)
    announce(restaurant=restaurant, order=target)
    return JsonResponse(target)
