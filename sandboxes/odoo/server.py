"""The Odoo sandbox under /sandbox/odoo/ (19.0) and /sandbox/odoo/<major>/ (17.0, 18.0).

Odoo's paths: ``GET /web/version`` (18.0 and later), ``POST /json/2/<model>/<method>`` (19.0:
bearer API key, optional ``X-Odoo-Database``, bare JSON answers, errors as Odoo's object with
its status) and ``POST /jsonrpc`` (``common.version``, ``common.authenticate``,
``object.execute_kw``; errors in the JSON-RPC envelope with HTTP 200). The models a connector
reads and a test writes: ``res.partner``, ``product.product``, ``account.tax``,
``res.currency``, ``res.country.state``, ``account.move`` (``create`` with
``invoice_line_ids`` commands, ``write``, ``action_post``, ``button_cancel``,
``message_post``), ``account.move.line``, ``mail.message``, ``ir.attachment``, with
``search_read`` (domain, fields, order, limit, offset), ``read``, ``search_count``.

Amounts are computed as Odoo computes them per line (``round_per_line``): a price-excluded
percentage is charged on the rounded net, a price-included one is split out of the rounded
gross; tax lines hold the sum per tax. Each write stamps ``write_date`` with the transaction's
time. Posting, cancelling or paying a move runs the database's automation rule: an unsigned
POST of ``{_action, _id, _model, id, <fields>}`` (many2one as bare ids, sorted keys), sent
after commit with a 1 s timeout and never retried, as Odoo does.
"""

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import requests
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from sandboxes.kit.endpoints import PlatformError, SandboxAPI
from sandboxes.odoo.models import OdooSandboxDatabase, OdooSandboxRecord, OdooSandboxWebhook

SANDBOX = "odoo"
OPERATIONS = frozenset({"version", "json2", "jsonrpc"})
ERROR_NAME = "odoo.exceptions.UserError"
CENT = Decimal("0.01")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
WEBHOOK_ACTION = "Send Webhook Notification(#12)"
WEBHOOK_FIELDS = ("move_type", "name", "payment_state", "state", "write_date")
WEBHOOK_TIMEOUT_SECONDS = 1
SEQUENCE_PREFIX = {"out_invoice": "INV", "out_refund": "RINV", "out_receipt": "RCPT"}
MOVE_TYPES = frozenset(SEQUENCE_PREFIX)
# model -> many2one field -> the model it names (read as [id, display_name]).
MANY2ONE = {
    "account.move": {
        "partner_id": "res.partner",
        "currency_id": "res.currency",
        "reversed_entry_id": "account.move",
    },
    "account.move.line": {
        "move_id": "account.move",
        "product_id": "product.product",
        "tax_line_id": "account.tax",
        "currency_id": "res.currency",
    },
    "res.partner": {"state_id": "res.country.state", "country_id": "res.country"},
    "res.country.state": {"country_id": "res.country"},
    "product.product": {},
    "account.tax": {},
    "res.currency": {},
    "res.country": {},
    "mail.message": {},
    "ir.attachment": {},
    "res.users": {},
}
MODELS = frozenset(MANY2ONE)
COMPUTED = {"res.partner": {"country_code"}}


class OdooError(PlatformError):
    """An Odoo exception: ``name`` its class path, ``status`` JSON-2's HTTP status for it;
    answered as Odoo's error object."""

    def __init__(self, message="", *, status=400, headers=None, name=""):
        super().__init__(message, status=status, headers=headers)
        self.name = name or ("werkzeug.exceptions.NotFound" if status == 404 else ERROR_NAME)

    def body(self) -> dict:
        return {
            "name": self.name,
            "message": self.message,
            "arguments": [self.message, self.status] if self.status == 401 else [self.message],
            "context": {},
            "debug": f"Traceback (most recent call last):\n{self.name}: {self.message}\n",
        }


def user_error(message: str) -> OdooError:
    return OdooError(message, status=422, name="odoo.exceptions.UserError")


def value_error(message: str) -> OdooError:
    return OdooError(message, status=422, name="builtins.ValueError")


def type_error(message: str) -> OdooError:
    return OdooError(message, status=422, name="builtins.TypeError")


def not_found(message: str) -> OdooError:
    return OdooError(message, status=404, name="werkzeug.exceptions.NotFound")


ACCESS_DENIED = OdooError("Access Denied", status=401, name="odoo.exceptions.AccessDenied")
INVALID_APIKEY = OdooError("Invalid apikey", status=401, name="werkzeug.exceptions.Unauthorized")


# --- the ORM ------------------------------------------------------------------------------------


def _now() -> datetime:
    return timezone.now()


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATETIME_FORMAT)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _number(value: Decimal) -> float:
    return float(value)


def record_create(database, model: str, values: Mapping, *, at: datetime | None = None):
    return OdooSandboxRecord.objects.create(
        database=database, model=model, values=dict(values), write_date=at or _now()
    )


def records_of(database, model: str, ids=None):
    rows = OdooSandboxRecord.objects.filter(database=database, model=model)
    return rows.filter(pk__in=list(ids)) if ids is not None else rows


def _value(row: OdooSandboxRecord, field: str):
    if field == "id":
        return row.pk
    if field == "write_date":
        return row.write_date
    if field == "create_date":
        return row.create_date
    return row.values.get(field, False)


def _matches(row, domain: list) -> bool:
    """Odoo's prefix domain: '&' (implicit between leaves), '|', '!' and [field, op, value]."""
    stack = []
    for item in reversed(domain):
        if item in ("&", "|"):
            first, second = stack.pop(), stack.pop()
            stack.append(first and second if item == "&" else first or second)
        elif item == "!":
            stack.append(not stack.pop())
        elif isinstance(item, list | tuple) and len(item) == 3:
            stack.append(_leaf(row, *item))
        else:
            raise value_error(f"Invalid leaf {item!r}")
    return all(stack)


def _leaf(row, field: str, operator: str, value) -> bool:
    have = _value(row, field)
    if isinstance(have, datetime):
        try:
            value = (
                [datetime.strptime(v, DATETIME_FORMAT).replace(tzinfo=UTC) for v in value]
                if isinstance(value, list)
                else datetime.strptime(value, DATETIME_FORMAT).replace(tzinfo=UTC)
            )
        except (TypeError, ValueError):
            raise OdooError(
                f"Invalid datetime {value!r}", status=422, name="builtins.ValueError"
            ) from None
    if isinstance(have, list) and operator in ("=", "in"):
        wanted = value if isinstance(value, list) else [value]
        return bool(set(have) & set(wanted))
    try:
        return {
            "=": lambda: have == value,
            "!=": lambda: have != value,
            ">": lambda: have is not False and have > value,
            ">=": lambda: have is not False and have >= value,
            "<": lambda: have is not False and have < value,
            "<=": lambda: have is not False and have <= value,
            "in": lambda: have in value,
            "not in": lambda: have not in value,
            "ilike": lambda: str(value).lower() in str(have or "").lower(),
            "like": lambda: str(value) in str(have or ""),
        }[operator]()
    except KeyError:
        raise OdooError(
            f"Invalid operator {operator!r}", status=422, name="builtins.ValueError"
        ) from None
    except TypeError:
        message = f"Cannot compare {field} with {value!r}"
        raise value_error(message) from None


def _ordered(rows: list, order: str | None) -> list:
    keys = []
    for part in (order or "id asc").split(","):
        words = part.split()
        if words:
            keys.append((words[0], len(words) > 1 and words[1].lower() == "desc"))
    for field, descending in reversed(keys):
        rows.sort(key=lambda row, field=field: _sort_key(_value(row, field)), reverse=descending)
    return rows


def _sort_key(value):
    return (value is False, value if value is not False else 0)


def _display_name(database, model: str, record_id: int) -> str:
    row = records_of(database, model, [record_id]).first()
    if row is None:
        return ""
    code = row.values.get("default_code")
    name = row.values.get("name") or ""
    return f"[{code}] {name}" if code else name


def _read_row(row, fields, *, many2one_names: bool = True) -> dict:
    model = row.model
    fields = fields or [*row.values, "write_date"]
    out = {"id": row.pk}
    for field in fields:
        if field == "id":
            continue
        if field in COMPUTED.get(model, ()):
            out[field] = _computed(row, field)
            continue
        value = _value(row, field)
        if isinstance(value, datetime):
            value = _text(value)
        target = MANY2ONE.get(model, {}).get(field)
        if target and value and many2one_names:
            value = [value, _display_name(row.database, target, value)]
        out[field] = value
    return out


def _computed(row, field: str):
    if field == "country_code":
        country = row.values.get("country_id")
        found = records_of(row.database, "res.country", [country]).first() if country else None
        return found.values.get("code", False) if found else False
    return False


# --- methods ------------------------------------------------------------------------------------


def search_read(database, model, *, domain=None, fields=None, offset=0, limit=None, order=None):
    rows = [row for row in records_of(database, model) if _matches(row, domain or [])]
    rows = _ordered(rows, order)[offset or 0 :]
    if limit:
        rows = rows[:limit]
    return [_read_row(row, fields) for row in rows]


def search_count(database, model, *, domain=None):
    return sum(1 for row in records_of(database, model) if _matches(row, domain or []))


def read(database, model, ids, *, fields=None):
    rows = {row.pk: row for row in records_of(database, model, ids)}
    missing = [record_id for record_id in ids if record_id not in rows]
    if missing:
        raise OdooError(
            f"Record does not exist or has been deleted. (Record: {model}({missing[0]},))",
            status=404,
            name="odoo.exceptions.MissingError",
        )
    return [_read_row(rows[record_id], fields) for record_id in ids]


def create(database, model, *, vals_list):
    if isinstance(vals_list, dict):
        vals_list = [vals_list]
    if model == "account.move":
        return [move_create(database, vals) for vals in vals_list]
    return [record_create(database, model, vals).pk for vals in vals_list]


def write(database, model, ids, *, vals):
    rows = list(records_of(database, model, ids))
    posted = any(row.values.get("state") != "draft" for row in rows)
    if model == "account.move" and "invoice_line_ids" in vals and posted:
        raise user_error("You cannot modify the lines of a posted journal entry.")
    now = _now()
    for row in rows:
        before = row.values.get("payment_state")
        row.values.update({key: value for key, value in vals.items() if key != "invoice_line_ids"})
        row.write_date = now
        row.save()
        if model == "account.move" and vals.get("payment_state") != before:
            _automation_run(row)
    return True


def action_post(database, model, ids):
    return moves_post(database, ids)


def button_cancel(database, model, ids):
    return moves_cancel(database, ids)


def moves_post(database, ids, *, notify: bool = True):
    """``action_post``; ``notify=False`` leaves the automation rule out (the traffic sender
    delivers its own copies)."""
    now = _now()
    for row in records_of(database, "account.move", ids).order_by("pk"):
        if row.values.get("state") != "draft":
            raise user_error("The entry is not in draft.")
        move_type = row.values["move_type"]
        year = (row.values.get("invoice_date") or now.date().isoformat())[:4]
        prefix = f"{SEQUENCE_PREFIX[move_type]}/{year}/"
        taken = records_of(database, "account.move").filter(values__name__startswith=prefix).count()
        row.values.update({"state": "posted", "name": f"{prefix}{taken + 1:05d}"})
        row.write_date = now
        row.save()
        if notify:
            _automation_run(row)
    return True


def moves_cancel(database, ids, *, notify: bool = True):
    """``button_cancel``: posted straight to cancelled (Odoo resets it to draft first, in the
    same call)."""
    now = _now()
    for row in records_of(database, "account.move", ids):
        row.values["state"] = "cancel"
        row.write_date = now
        row.save()
        if notify:
            _automation_run(row)
    return True


def moves_pay(database, ids, *, notify: bool = True):
    """A customer payment reconciled with each move: ``payment_state`` paid, nothing left due;
    ``notify=False`` as for ``moves_post``."""
    now = _now()
    for row in records_of(database, "account.move", ids):
        row.values.update({"payment_state": "paid", "amount_residual": 0.0})
        row.write_date = now
        row.save()
        if notify:
            _automation_run(row)
    return True


def message_post(database, model, ids, *, body="", attachment_ids=None, **others):
    messages = []
    for record_id in ids:
        message = record_create(
            database,
            "mail.message",
            {
                "model": model,
                "res_id": record_id,
                "body": body,
                "message_type": others.get("message_type", "notification"),
                "subtype_xmlid": others.get("subtype_xmlid", ""),
                "attachment_ids": list(attachment_ids or []),
            },
        )
        messages.append(message.pk)
    return messages[0] if len(messages) == 1 else messages


def context_get(database, model):
    return {"lang": "en_US", "tz": "Africa/Lagos", "uid": database.uid}


# name -> (takes ids, the positional parameters after ids, function)
METHODS = {
    "search_read": (False, ("domain", "fields", "offset", "limit", "order"), search_read),
    "search_count": (False, ("domain",), search_count),
    "read": (True, ("fields",), read),
    "create": (False, ("vals_list",), create),
    "write": (True, ("vals",), write),
    "action_post": (True, (), action_post),
    "button_cancel": (True, (), button_cancel),
    "message_post": (True, (), message_post),
    "context_get": (False, (), context_get),
}
MOVE_ONLY = {"action_post", "button_cancel", "message_post"}


def call(database, model: str, method: str, *, ids, named: dict):
    if model not in MODELS:
        raise not_found(f"the model {model!r} does not exist")
    if method not in METHODS or (method in MOVE_ONLY and model != "account.move"):
        raise not_found(f"the method {method!r} does not exist on the model {model!r}")
    takes_ids, _params, function = METHODS[method]
    if takes_ids and ids is None:
        raise type_error(f"{model}.{method}() needs ids")
    if not takes_ids and ids is not None:
        raise OdooError(
            f"cannot call {model}.{method} with ids", status=422, name="builtins.TypeError"
        )
    try:
        with transaction.atomic():
            if takes_ids:
                return function(database, model, list(ids), **named)
            return function(database, model, **named)
    except TypeError as error:
        raise type_error(str(error)) from None


# --- invoices as Odoo computes them -------------------------------------------------------------


def move_create(database, vals: Mapping) -> int:
    move_type = vals.get("move_type", "out_invoice")
    if move_type not in MOVE_TYPES:
        raise user_error(f"The sandbox keeps customer documents only, not {move_type!r}")
    currency = vals.get("currency_id") or currency_id_for(database, "NGN")
    now = _now()
    move = record_create(
        database,
        "account.move",
        {
            "name": "/",
            "move_type": move_type,
            "state": "draft",
            "payment_state": "not_paid",
            "partner_id": vals.get("partner_id") or False,
            "invoice_date": vals.get("invoice_date") or now.date().isoformat(),
            "currency_id": currency,
            "reversed_entry_id": vals.get("reversed_entry_id") or False,
            "ref": vals.get("ref") or False,
        },
        at=now,
    )
    sign = 1 if move_type == "out_refund" else -1
    line_ids, invoice_line_ids, per_tax = [], [], {}
    untaxed = tax_total = Decimal(0)
    for command in vals.get("invoice_line_ids") or []:
        if not (isinstance(command, list | tuple) and len(command) == 3 and command[0] == 0):
            raise user_error(f"Only (0, 0, values) line commands are kept, not {command!r}")
        line_vals = command[2]
        display_type = line_vals.get("display_type") or "product"
        values = {"move_id": move.pk, "display_type": display_type, "currency_id": currency}
        if display_type == "product":
            taxes = _taxes(database, line_vals.get("tax_ids"))
            amounts = line_amounts(
                quantity=Decimal(str(line_vals.get("quantity", 1))),
                price_unit=Decimal(str(line_vals.get("price_unit", 0))),
                discount=Decimal(str(line_vals.get("discount", 0))),
                taxes=[tax.values for tax in taxes],
            )
            for tax, amount in zip(taxes, amounts["taxes"], strict=True):
                per_tax[tax.pk] = per_tax.get(tax.pk, Decimal(0)) + amount
            untaxed += amounts["subtotal"]
            tax_total += amounts["total"] - amounts["subtotal"]
            values.update(
                name=line_vals.get("name")
                or _display_name(database, "product.product", line_vals.get("product_id") or 0),
                product_id=line_vals.get("product_id") or False,
                quantity=float(line_vals.get("quantity", 1)),
                price_unit=float(line_vals.get("price_unit", 0)),
                discount=float(line_vals.get("discount", 0)),
                tax_ids=[tax.pk for tax in taxes],
                price_subtotal=_number(amounts["subtotal"]),
                price_total=_number(amounts["total"]),
                amount_currency=_number(sign * amounts["subtotal"]),
            )
        else:
            values.update(name=line_vals.get("name", ""), tax_ids=[])
        line = record_create(database, "account.move.line", values, at=now)
        line_ids.append(line.pk)
        invoice_line_ids.append(line.pk)
    for tax_id, amount in per_tax.items():
        if amount:
            tax = records_of(database, "account.tax", [tax_id]).get()
            line = record_create(
                database,
                "account.move.line",
                {
                    "move_id": move.pk,
                    "display_type": "tax",
                    "name": tax.values["name"],
                    "tax_line_id": tax_id,
                    "tax_ids": [],
                    "currency_id": currency,
                    "amount_currency": _number(sign * amount),
                },
                at=now,
            )
            line_ids.append(line.pk)
    receivable = record_create(
        database,
        "account.move.line",
        {
            "move_id": move.pk,
            "display_type": "payment_term",
            "name": "",
            "tax_ids": [],
            "currency_id": currency,
            "amount_currency": _number(-sign * (untaxed + tax_total)),
        },
        at=now,
    )
    line_ids.append(receivable.pk)
    move.values.update(
        line_ids=line_ids,
        invoice_line_ids=invoice_line_ids,
        amount_untaxed=_number(untaxed),
        amount_tax=_number(tax_total),
        amount_total=_number(untaxed + tax_total),
        amount_residual=_number(untaxed + tax_total),
    )
    move.save()
    return move.pk


def line_amounts(*, quantity, price_unit, discount, taxes) -> dict:
    """Odoo's ``compute_all`` for percentages, rounded per line: price-included taxes split out
    of the rounded gross, then price-excluded ones charged on the net."""
    gross = (quantity * price_unit * (1 - discount / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    included = [tax for tax in taxes if tax.get("price_include")]
    included_rate = sum((Decimal(str(tax["amount"])) for tax in included), Decimal(0))
    net = gross
    amounts = []
    if included:
        net = (gross / (1 + included_rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    for tax in taxes:
        rate = Decimal(str(tax["amount"]))
        if tax.get("price_include"):
            share = (gross - net) * rate / included_rate if included_rate else Decimal(0)
            amounts.append(share.quantize(CENT, rounding=ROUND_HALF_UP))
        else:
            amounts.append((net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP))
    return {"subtotal": net, "total": net + sum(amounts, Decimal(0)), "taxes": amounts}


def _taxes(database, value) -> list:
    """``tax_ids`` given as ids or as ``[(6, 0, ids)]``."""
    ids = []
    for item in value or []:
        if isinstance(item, list | tuple) and len(item) == 3 and item[0] == 6:
            ids.extend(item[2])
        elif isinstance(item, int):
            ids.append(item)
    rows = {row.pk: row for row in records_of(database, "account.tax", ids)}
    if len(rows) != len(set(ids)):
        raise OdooError(
            "Record does not exist: account.tax", status=404, name="odoo.exceptions.MissingError"
        )
    return [rows[tax_id] for tax_id in ids]


def currency_id_for(database, name: str) -> int:
    row = records_of(database, "res.currency").filter(values__name=name).first()
    return row.pk if row else record_create(database, "res.currency", {"name": name}).pk


# --- the automation rule ------------------------------------------------------------------------


def webhook_body(row: OdooSandboxRecord) -> bytes:
    """What "Send Webhook Notification" posts: ``record.read(fields, load=None)``, so many2one
    values are bare ids, keys sorted, datetimes as ``str()``."""
    payload = {"_action": WEBHOOK_ACTION, "_id": row.pk, "_model": row.model, "id": row.pk}
    payload |= _read_row(row, WEBHOOK_FIELDS, many2one_names=False)
    return json.dumps(payload, sort_keys=True, default=str).encode()


def _automation_run(row: OdooSandboxRecord) -> None:
    database = row.database
    if not database.webhook_url:
        return
    delivery = OdooSandboxWebhook.objects.create(database=database, body=webhook_body(row))
    if not database.webhooks_held:
        transaction.on_commit(lambda: webhook_send(delivery))


def webhook_send(delivery: OdooSandboxWebhook) -> None:
    """Send and forget, as Odoo does: a timeout or an error is only logged."""
    try:
        answer = requests.post(
            delivery.database.webhook_url,
            data=bytes(delivery.body),
            headers={"Content-Type": "application/json"},
            timeout=WEBHOOK_TIMEOUT_SECONDS,
        )
        status = answer.status_code
    except requests.RequestException:
        status = 0
    OdooSandboxWebhook.objects.filter(pk=delivery.pk).update(status=status)


# --- HTTP ---------------------------------------------------------------------------------------


class OdooAPI(SandboxAPI):
    """Odoo's HTTP conventions on the kit: the API key as bearer token (JSON-2), Odoo's error
    object with its status, faults per database. /jsonrpc carries its key in the body and its
    errors in the envelope (HTTP 200), so it authenticates itself."""

    name = SANDBOX
    error = OdooError
    caller_argument = "database"
    # A refused key is neither counted nor faulted, as Odoo refuses it before any work.
    authenticate_first = True
    operations = OPERATIONS

    def authenticate(self, request, *, scope):
        if _major(request) < 19:
            raise not_found("Did you mean POST /json/2/<model>/<method>?")
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        database = OdooSandboxDatabase.objects.filter(
            api_key=key, api_key_revoked=False, major_version=_major(request)
        ).first()
        named = request.headers.get("X-Odoo-Database")
        if scheme.lower() != "bearer" or database is None or named not in (None, database.name):
            raise INVALID_APIKEY
        return database

    def fault_account(self, request, caller) -> str:
        if caller is not None:
            return caller.name
        try:
            return str(json.loads(request.body)["params"]["args"][0])
        except (ValueError, KeyError, IndexError, TypeError):
            return ""

    def not_found(self, request) -> HttpResponse:
        return not_found("Did you mean POST /json/2/<model>/<method>?").response()

    def invalid_json(self, error: Exception) -> OdooError:
        return OdooError("Invalid JSON data", status=400, name="werkzeug.exceptions.BadRequest")

    def not_an_object(self) -> OdooError:
        return self.invalid_json(ValueError())


api = OdooAPI()


def _major(request) -> int:
    match = request.resolver_match
    return int(match.kwargs.get("major", 19)) if match else 19


def _json(value) -> JsonResponse:
    return JsonResponse(value, safe=False)


@api.endpoint("version", authenticated=False, body=False)
def version_view(request, major: int = 19):
    if major < 18:
        return HttpResponse("Not Found", status=404, content_type="text/html")
    return _json({"version_info": [major, 0, 0, "final", 0, ""], "version": f"{major}.0"})


@api.endpoint("json2")
def json2_view(request, *, database, body, model: str, method: str, major: int = 19):
    named = dict(body)
    ids = named.pop("ids", None)
    named.pop("context", None)
    return _json(call(database, model, method, ids=ids, named=named))


@api.endpoint("jsonrpc", authenticated=False)
def jsonrpc_view(request, *, body, major: int = 19):
    request_id = body.get("id")
    try:
        params = body["params"]
        service, method = params["service"], params["method"]
        args = list(params.get("args", []))
        if service == "common" and method == "version":
            return _rpc_result(request_id, _server_version(major))
        if service == "common" and method == "authenticate":
            database = _rpc_database(args[0], args[2], major, login=args[1])
            return _rpc_result(request_id, database.uid if database else False)
        if service == "object" and method == "execute_kw":
            db_name, uid, key, model, model_method = args[:5]
            positional = list(args[5]) if len(args) > 5 else []
            keywords = dict(args[6]) if len(args) > 6 else {}
            database = _rpc_database(db_name, key, major)
            if database is None or database.uid != uid:
                raise ACCESS_DENIED
            return _rpc_result(
                request_id, _execute_kw(database, model, model_method, positional, keywords)
            )
    except OdooError as error:
        return _rpc_error(request_id, error)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        return _rpc_error(request_id, type_error(str(error)))
    return _rpc_error(request_id, not_found(f"No service {service}.{method}"))


def _execute_kw(database, model, method, positional, keywords):
    takes_ids, params, _function = METHODS.get(method, (False, (), None))
    ids = None
    if takes_ids and positional:
        ids, positional = positional[0], positional[1:]
    named = dict(zip(params, positional, strict=False)) | keywords
    return call(database, model, method, ids=ids, named=named)


def _rpc_database(name, key, major, *, login=None):
    rows = OdooSandboxDatabase.objects.filter(
        name=name, api_key=key, api_key_revoked=False, major_version=major
    )
    if login is not None:
        rows = rows.filter(login=login)
    return rows.first()


def _server_version(major: int) -> dict:
    return {
        "server_version": f"{major}.0",
        "server_version_info": [major, 0, 0, "final", 0, ""],
        "server_serie": f"{major}.0",
        "protocol_version": 1,
    }


def _rpc_result(request_id, result) -> JsonResponse:
    return _json({"jsonrpc": "2.0", "id": request_id, "result": result})


def _rpc_error(request_id, error: OdooError) -> JsonResponse:
    code = 404 if error.status == 404 else 200
    data = error.body()
    return _json(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": code, "message": "Odoo Server Error", "data": data},
        }
    )


# --- sandbox control ---------------------------------------------------------------------------


def database_create(*, major_version: int = 19, name: str = "") -> OdooSandboxDatabase:
    """A database with its admin user's API key, Nigeria's taxes, currencies, states, a few
    customers and products."""
    suffix = secrets.token_hex(4)
    database = OdooSandboxDatabase.objects.create(
        name=name or f"sandbox-{suffix}",
        major_version=major_version,
        login=f"admin-{suffix}@sandbox.odoo.test",
        api_key=secrets.token_hex(20),
    )
    from sandboxes.odoo.seed import database_seed

    database_seed(database)
    return database
