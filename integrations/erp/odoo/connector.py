"""Odoo as an ERP connector: an API key (base URL, database, login, key) tried before it is
stored, JSON-2 on 19.0 and later or ``/jsonrpc`` ``execute_kw`` on 17.0 and 18.0 as
``/web/version`` says, posted customer invoices, receipts and credit notes with their lines,
taxes and buyer, automation-rule webhooks taken as hints to re-read, change searches on a
``(write_date, id)`` cursor, and the IRN and QR code posted back in the invoice's chatter."""

import base64
import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core.cache import cache

from integrations.base.canonical import Document, DocumentKind
from integrations.base.connectors import ApiKeyConnector, CredentialField, WebhookEvent
from integrations.base.errors import MappingError, PermanentConnectorError
from integrations.erp.connectors import (
    Backfill,
    DocumentsPage,
    ERPConnector,
    IncrementalSync,
    IrnWriteBack,
    SecretUrlWebhooks,
)
from integrations.erp.odoo import constants, mappers
from integrations.erp.odoo.client import Json2Client, JsonRpcClient, OdooClient
from integrations.erp.odoo.signatures import url_secret_valid

SEARCH_PAGE_SIZE = constants.SEARCH_PAGE_SIZE
ONE_SECOND = timedelta(seconds=1)
CACHE_KEY = "odoo-api:{digest}"


class OdooConnector(
    ERPConnector, SecretUrlWebhooks, Backfill, IncrementalSync, IrnWriteBack, ApiKeyConnector
):
    key = "odoo"
    display_name = "Odoo"
    # Odoo never retries a webhook: the change search runs every minute.
    connection_defaults = {"sync_every_minutes": 1}
    # The automation rule that tells us at once of a posted, cancelled or paid invoice.
    # (Settings > Technical > Automation Rules > New; Odoo's own labels.)
    delivery_setup = (
        ("Model", "Journal Entry (account.move)"),
        ("Trigger", "On save"),
        ("When updating", "Status (state), Payment Status (payment_state)"),
        ("Action", "Send Webhook Notification"),
        ("Fields", "move_type, state, payment_state, write_date"),
    )
    credential_fields = (
        CredentialField(
            "base_url", "Odoo URL", secret=False, help_text="e.g. https://yourcompany.odoo.com"
        ),
        CredentialField("database", "Database", secret=False),
        CredentialField("login", "Login", secret=False, help_text="The user's e-mail address"),
        CredentialField(
            "api_key",
            "API key",
            help_text="Odoo: Preferences > Account Security > New API Key (at most 3 months)",
        ),
    )

    # --- webhooks ---------------------------------------------------------------------------

    @classmethod
    def url_secret_valid(cls, *, presented: str, secret: str) -> bool:
        return url_secret_valid(presented=presented, secret=secret)

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        return mappers.event_names_a_move(event.payload)

    def documents_for_event(self, event: WebhookEvent) -> list[Document]:
        """The move the hint names, read now; a credit note after the invoice it reverses."""
        if not mappers.event_names_a_move(event.payload) or not event.object_id.isdigit():
            return []
        moves = self._moves([["id", "=", int(event.object_id)]], limit=1)
        documents, problems = self._documents(moves)
        if problems:
            raise MappingError(problems[0])
        originals = [
            int(document.original_external_id)
            for document in documents
            if document.kind == DocumentKind.CREDIT_NOTE and document.original_external_id
        ]
        if originals:
            # An original that cannot be mapped leaves its credit note failing, with the reason.
            earlier, _unmapped = self._documents(self._moves([["id", "in", originals]]))
            documents = earlier + documents
        return documents

    # --- connecting -------------------------------------------------------------------------

    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        base_url = credentials["base_url"].rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentConnectorError(f"{base_url!r} is not an http(s) URL")
        client = self._client_for(
            base_url=base_url,
            database=credentials["database"],
            login=credentials["login"],
            api_key=credentials["api_key"],
        )
        client.execute(constants.USERS, "context_get")
        return f"{credentials['database']}@{parts.hostname}"[:64]

    def test_connection(self) -> None:
        self.client.execute(constants.USERS, "context_get")

    @property
    def client(self) -> OdooClient:
        credentials = self.credentials
        return self._client_for(
            base_url=self.connection.base_url or credentials.get("base_url", ""),
            database=credentials.get("database", ""),
            login=credentials.get("login", ""),
            api_key=credentials.get("api_key", ""),
        )

    def _client_for(self, *, base_url: str, database: str, login: str, api_key: str):
        """The instance's client of the flavour it takes, asked once an hour."""
        common = {
            "base_url": base_url,
            "account": self.connection.account_id or database,
            "database": database,
            "login": login,
            "api_key": api_key,
        }
        digest = hashlib.sha256(f"{base_url}\0{database}\0{login}".encode()).hexdigest()[:32]
        key = CACHE_KEY.format(digest=digest)
        known = cache.get(key)
        if known is None:
            major, version = OdooClient(**common).version()
            if major < constants.OLDEST_MAJOR:
                raise PermanentConnectorError(
                    f"Odoo {version} is older than {constants.OLDEST_MAJOR}.0, which is needed"
                )
            if major >= constants.JSON2_SINCE_MAJOR:
                known = {"api": constants.API_JSON2}
            else:
                known = {"api": constants.API_JSONRPC, "uid": JsonRpcClient(**common).uid}
            cache.set(key, known, timeout=constants.VERSION_CACHE_SECONDS)
        if known["api"] == constants.API_JSON2:
            return Json2Client(**common)
        return JsonRpcClient(uid=known["uid"], **common)

    # --- pulls ------------------------------------------------------------------------------

    def documents_page(self, *, modified_after: datetime, after_cursor: str = "") -> DocumentsPage:
        """Customer moves posted or cancelled, oldest change first, on a ``(write_date, id)``
        cursor. Odoo reads write_date to the second but orders by its hidden microseconds, so
        a page never ends inside a second: the second it reaches last is read again by the
        next page, and a second holding more changes than a page is read alone, by id. The
        next search starts ``LOOK_BACK`` before the last change seen."""
        second, last_id = _cursor_read(after_cursor) if after_cursor else (modified_after, None)
        if last_id is None:
            moves = self._moves(
                [["write_date", ">=", mappers.odoo_datetime_text(second)]],
                limit=SEARCH_PAGE_SIZE,
            )
        else:
            moves = self._moves(
                [
                    ["write_date", ">=", mappers.odoo_datetime_text(second)],
                    ["write_date", "<", mappers.odoo_datetime_text(second + ONE_SECOND)],
                    ["id", ">", last_id],
                ],
                limit=SEARCH_PAGE_SIZE,
                order="id asc",
            )
        seconds = [_second_of(move) for move in moves]
        full = len(moves) == SEARCH_PAGE_SIZE
        if last_id is not None:
            # One second, by id: on to the next second once it is read to its end.
            after = f"{_text(second)}|{moves[-1]['id']}" if full else _text(second + ONE_SECOND)
            return self._page(moves, modified_after=modified_after, after_cursor=after)
        if full and seconds[0] == seconds[-1]:
            # A second with more changes than a page: read it alone, by id.
            return self._page(
                [], modified_after=modified_after, after_cursor=f"{_text(seconds[0])}|0"
            )
        if full:
            kept = [move for move, at in zip(moves, seconds, strict=True) if at < seconds[-1]]
            return self._page(kept, modified_after=modified_after, after_cursor=_text(seconds[-1]))
        anchor = modified_after
        if seconds:
            anchor = max(modified_after, seconds[-1] - constants.LOOK_BACK)
        return self._page(moves, modified_after=anchor, after_cursor="")

    def _page(self, moves, *, modified_after: datetime, after_cursor: str) -> DocumentsPage:
        documents, problems = self._documents(moves)
        return DocumentsPage(
            documents=documents,
            modified_after=modified_after,
            after_cursor=after_cursor,
            has_more=bool(after_cursor),
            records=len(moves),
            problems=problems,
        )

    def _moves(
        self, domain: list, *, limit: int | None = None, order: str = "write_date asc, id asc"
    ) -> list[dict]:
        named = {
            "domain": [
                ["move_type", "in", list(constants.SALE_MOVE_TYPES)],
                ["state", "in", list(constants.PULLED_STATES)],
                *domain,
            ],
            "fields": list(constants.MOVE_FIELDS),
            "order": order,
        }
        if limit:
            named["limit"] = limit
        return _records(self.client.execute(constants.MOVE, "search_read", **named), "moves")

    def _documents(self, moves: list[dict]) -> tuple[list[Document], list[str]]:
        """The moves with their lines, taxes, buyers and the buyers' states, read in a few
        calls for the whole page; the moves that cannot be mapped as problems."""
        if not moves:
            return [], []
        client = self.client
        line_ids = sorted({i for move in moves for i in _id_list(move.get("line_ids"))})
        lines = self._read(client, constants.MOVE_LINE, line_ids, constants.LINE_FIELDS)
        tax_ids = sorted(
            {i for line in lines for i in _id_list(line.get("tax_ids"))}
            | {_first(line.get("tax_line_id")) for line in lines} - {None}
        )
        taxes = self._read(client, constants.TAX, tax_ids, constants.TAX_FIELDS)
        partner_ids = sorted({_first(move.get("partner_id")) for move in moves} - {None})
        partners = self._read(client, constants.PARTNER, partner_ids, constants.PARTNER_FIELDS)
        state_ids = sorted({_first(partner.get("state_id")) for partner in partners} - {None})
        states = self._read(client, constants.STATE, state_ids, constants.STATE_FIELDS)
        by_move: dict[int, list] = {}
        for line in lines:
            by_move.setdefault(_first(line.get("move_id")), []).append(line)
        partners_by_id = {partner["id"]: partner for partner in partners}
        options = self.connection.connection_settings or {}
        documents, problems = [], []
        for move in moves:
            try:
                documents.append(
                    mappers.document_from_odoo(
                        move,
                        lines=by_move.get(move.get("id"), []),
                        taxes={tax["id"]: tax for tax in taxes},
                        partner=partners_by_id.get(_first(move.get("partner_id"))),
                        states={state["id"]: state for state in states},
                        default_hs_code=options.get("default_hs_code", ""),
                        default_product_category=options.get("default_product_category", ""),
                    )
                )
            except MappingError as error:
                problems.append(f"account.move {move.get('id')} ({move.get('name')}): {error}")
        return documents, problems

    @staticmethod
    def _read(client: OdooClient, model: str, ids: list[int], fields: Iterable[str]) -> list:
        records = []
        for start in range(0, len(ids), constants.READ_CHUNK):
            chunk = ids[start : start + constants.READ_CHUNK]
            answer = client.execute(model, "read", ids=chunk, fields=list(fields))
            records += _records(answer, model)
        return records

    # --- write-back ---------------------------------------------------------------------------

    def irn_write_back(
        self, *, external_id: str, irn: str, qr_png: bytes, invoice_number: str
    ) -> bool:
        """A note in the invoice's chatter with the IRN and the QR code attached, unless one
        with this IRN is there already (a retry after a lost answer posts nothing twice)."""
        client, move_id = self.client, int(external_id)
        posted = client.execute(
            constants.MESSAGE,
            "search_read",
            domain=[
                ["model", "=", constants.MOVE],
                ["res_id", "=", move_id],
                ["body", "ilike", irn],
            ],
            fields=["id"],
            limit=1,
        )
        if _records(posted, constants.MESSAGE):
            return False
        created = client.execute(
            constants.ATTACHMENT,
            "create",
            vals_list=[
                {
                    "name": f"FIRS-QR-{irn}.png",
                    "datas": base64.b64encode(qr_png).decode("ascii"),
                    "res_model": constants.MOVE,
                    "res_id": move_id,
                    "mimetype": "image/png",
                }
            ],
        )
        attachment_ids = _id_list(created if isinstance(created, list) else [created])
        client.execute(
            constants.MOVE,
            "message_post",
            ids=[move_id],
            body=(
                f"{constants.IRN_MESSAGE_MARK}: {irn} (TaxPoynt invoice {invoice_number}). "
                "The FIRS QR code is attached."
            ),
            attachment_ids=attachment_ids,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        return True


def _cursor_read(text: str) -> tuple[datetime, int | None]:
    """``second`` (that second on) or ``second|id`` (that second alone, ids past ``id``)."""
    moment, _, last_id = text.partition("|")
    if last_id and not last_id.isdigit():
        raise PermanentConnectorError(f"Odoo change cursor {text!r} is not 'write_date[|id]'")
    return mappers.odoo_datetime(moment, path="cursor"), int(last_id) if last_id else None


def _second_of(move: Mapping) -> datetime:
    return mappers.odoo_datetime(move.get("write_date"), path="account.move.write_date")


def _text(moment: datetime) -> str:
    return mappers.odoo_datetime_text(moment)


def _records(answer, what: str) -> list[dict]:
    if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
        raise PermanentConnectorError(f"Odoo's {what} answer is not a list of records")
    return answer


def _id_list(value) -> list[int]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, int) and not isinstance(item, bool)]


def _first(value) -> int | None:
    """The id of a many2one read (``[id, name]``), None for ``false``."""
    if isinstance(value, list) and value and isinstance(value[0], int):
        return value[0]
    return None
