"""Salesforce as a CRM connector: the OAuth web-server flow with PKCE (production, sandbox or a
My Domain login host; ``instance_url`` kept as the API base, the org id from ``id``, the token
answer's signature verified), Outbound Messages to the connection's secret URL taken as hints
to re-read the Opportunity, SOQL pulls of won Opportunities with their line items on a
``(SystemModstamp, Id)`` cursor, and the IRN written to an Opportunity field once signed."""

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape

from django.conf import settings

from integrations.base.canonical import Deal
from integrations.base.connectors import OAuthConnector, Pkce, TokenSet, WebhookEvent
from integrations.base.errors import (
    AuthenticationError,
    MappingError,
    PermanentConnectorError,
)
from integrations.base.oauth import token_set
from integrations.crm.connectors import (
    Backfill,
    CRMConnector,
    DealsPage,
    IncrementalSync,
    IrnNotes,
    PipelineStage,
    SecretUrlWebhooks,
)
from integrations.crm.salesforce import constants, mappers
from integrations.crm.salesforce.client import SalesforceClient
from integrations.crm.salesforce.oauth import (
    SalesforceConnectOAuth2,
    answer_problem,
    instance_url_checked,
    login_host_checked,
    org_id_of,
)
from integrations.crm.salesforce.signatures import url_secret_valid

CHILD_RELATIONS = ("OpportunityLineItems", "OpportunityContactRoles")
# The sync reads won Opportunities only; IsWon decides, whatever the stage is called.
WON_STAGE = PipelineStage(
    pipeline_id="", pipeline_label="Every opportunity", stage_id="IsWon", label="Won", is_won=True
)


class SalesforceConnector(
    CRMConnector, SecretUrlWebhooks, Backfill, IncrementalSync, IrnNotes, Pkce, OAuthConnector
):
    key = "salesforce"
    display_name = "Salesforce"
    # The login host; the org's API host is the token answer's instance_url.
    default_base_url = constants.PRODUCTION_LOGIN
    # Outbound Messages are retried for a day but may be dropped: the sync runs every minute.
    connection_defaults = {"sync_every_minutes": 1, "won_stage_ids": [WON_STAGE.stage_id]}
    # Setup > Flows: a record-triggered flow on Opportunity whose action is an Outbound
    # Message (Setup > Outbound Messages > New), Salesforce's own labels.
    delivery_setup = (
        ("Flow", "Record-Triggered Flow on Opportunity, when a record is created or updated"),
        ("Entry condition", "Won (IsWon) Equals True, only when the record is updated to meet it"),
        ("Action", "Outbound Message (Setup > Outbound Messages > New, object Opportunity)"),
        ("Endpoint URL", "the URL below (its path carries this connection's secret)"),
        ("Fields to send", "Id, IsWon, StageName, SystemModstamp"),
        ("Send Session ID", "off (the API is read with the connection's own token)"),
    )

    oauth_backend = SalesforceConnectOAuth2
    scopes = ("api", "refresh_token")
    account_id_key = "organization_id"
    # A refresh answers a new access token and keeps the refresh token.
    refresh_token_rotates = False
    # Revoking the refresh token ends the grant and every session it opened.
    revoke_with = "refresh_token"
    login_host_help = (
        "Empty for a production org; https://test.salesforce.com for a test org, or your "
        "org's My Domain (https://<name>.my.salesforce.com)."
    )

    @classmethod
    def login_host_checked(cls, value: str) -> str:
        return login_host_checked(value)

    # --- Outbound Messages -------------------------------------------------------------------

    @classmethod
    def url_secret_valid(cls, *, presented: str, secret: str) -> bool:
        return url_secret_valid(presented=presented, secret=secret)

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        return mappers.event_names_an_opportunity(event.payload)

    @classmethod
    def event_subject(cls, event: WebhookEvent) -> str:
        return event.object_id if mappers.event_names_an_opportunity(event.payload) else ""

    @classmethod
    def delivery_answer(cls, *, accepted: bool, reason: str = "") -> tuple[str, bytes]:
        if accepted:
            return "text/xml; charset=utf-8", constants.ACK
        return "text/xml; charset=utf-8", _soap_fault(reason)

    def deal_ids_for_event(self, event: WebhookEvent) -> list[str] | None:
        return [event.object_id] if mappers.event_names_an_opportunity(event.payload) else None

    def deals_for_event(self, event: WebhookEvent) -> list[Deal]:
        """The Opportunity read as it is now: the message may be stale or a redelivery."""
        if not mappers.event_names_an_opportunity(event.payload):
            return []
        answer = self.client.query(self._soql(f"Id = '{_record_id(event.object_id)}'"))
        records = self._records(answer)
        deals = []
        for record in records:
            try:
                deals.append(self._map(record))
            except MappingError:
                if record.get("IsWon") is True:
                    raise
        return deals

    # --- the org -----------------------------------------------------------------------------

    @property
    def client(self) -> SalesforceClient:
        credentials = self.credentials
        return SalesforceClient(
            base_url=credentials.get("instance_url") or self.base_url,
            account=self.connection.account_id,
            access_token=credentials.get("access_token", ""),
            session_renew=self._session_renew,
        )

    def _session_renew(self, failed_access_token: str) -> str:
        """A fresh access token after a 401: refreshed under the connection's lock unless
        another worker already replaced the one that failed."""
        from integrations.base.connections import connection_tokens_refresh

        connection_tokens_refresh(
            connection=self.connection, force=True, stale_access_token=failed_access_token
        )
        return self.credentials.get("access_token", "")

    def test_connection(self) -> None:
        self.client.limits()

    def pipelines(self) -> list[PipelineStage]:
        return [WON_STAGE]

    # --- pulls -------------------------------------------------------------------------------

    def deals_page(self, *, modified_after: datetime, after_cursor: str = "") -> DealsPage:
        """Won Opportunities ordered by ``(SystemModstamp, Id)``, a query's pages followed by
        ``nextRecordsUrl``; an expired query locator starts again after the last row read. Each
        Opportunity's line items are read to their end before the next page is asked for. The
        next sync starts ``LOOK_BACK`` before the last change seen."""
        state = _cursor_read(after_cursor)
        client = self.client
        answer = None
        if state.get("next"):
            try:
                answer = client.query_more(state["next"])
            except PermanentConnectorError as error:
                if "INVALID_QUERY_LOCATOR" not in str(error):
                    raise
        if answer is None:
            if state.get("stamp"):
                stamp = mappers.soql_datetime(datetime.fromisoformat(state["stamp"]))
                where = (
                    f"(SystemModstamp > {stamp} OR "
                    f"(SystemModstamp = {stamp} AND Id > '{_record_id(state['id'])}'))"
                )
            else:
                where = f"SystemModstamp >= {mappers.soql_datetime(modified_after)}"
            answer = client.query(self._soql(f"IsWon = true AND {where}"))
        records = self._records(answer)
        deals, problems = [], []
        for record in records:
            try:
                deals.append(self._map(record))
            except MappingError as error:
                problems.append(str(error))
        last_stamp, last_id = state.get("stamp"), state.get("id")
        if records:
            last = records[-1]
            try:
                last_stamp = mappers.modstamp(
                    last.get("SystemModstamp"), path="SystemModstamp"
                ).isoformat()
                last_id = _record_id(last.get("Id"))
            except (MappingError, PermanentConnectorError) as error:
                raise PermanentConnectorError(
                    f"A listed Opportunity cannot be paged on: {error}"
                ) from None
        next_url = answer.get("nextRecordsUrl")
        if answer.get("done") is False and next_url:
            after = json.dumps({"next": next_url, "stamp": last_stamp, "id": last_id})
            has_more, anchor = True, modified_after
        else:
            after, has_more, anchor = "", False, modified_after
            if last_stamp:
                anchor = max(
                    modified_after, datetime.fromisoformat(last_stamp) - constants.LOOK_BACK
                )
        return DealsPage(
            deals=deals,
            modified_after=anchor,
            after_cursor=after,
            has_more=has_more,
            records=len(records),
            problems=problems,
        )

    def _soql(self, where: str) -> str:
        options = self.connection.connection_settings or {}
        account_fields = [*constants.ACCOUNT_FIELDS, "Id"]
        tin_field = self.connection.tin_property
        if constants.CUSTOM_FIELD_PATTERN.fullmatch(tin_field or ""):
            account_fields.append(tin_field)
        line_fields = list(constants.LINE_FIELDS)
        exempt_field = options.get(constants.SETTING_EXEMPT_FIELD) or ""
        if constants.CUSTOM_FIELD_PATTERN.fullmatch(exempt_field):
            line_fields.append(exempt_field)
        fields = [
            *constants.OPPORTUNITY_FIELDS,
            *(f"Account.{name}" for name in account_fields),
        ]
        if options.get("multi_currency"):
            fields.append("CurrencyIsoCode")
        # SOQL, not SQL: every name is ours or a checked custom field name, every id and
        # time a checked literal.
        lines = f"(SELECT {', '.join(line_fields)} FROM OpportunityLineItems ORDER BY Id)"  # noqa: S608
        contacts = (
            f"(SELECT {', '.join(constants.CONTACT_ROLE_FIELDS)} "  # noqa: S608
            "FROM OpportunityContactRoles ORDER BY Id)"
        )
        return (
            f"SELECT {', '.join(fields)}, {lines}, {contacts} FROM Opportunity "  # noqa: S608
            f"WHERE {where} ORDER BY SystemModstamp, Id"
        )

    def _records(self, answer: Mapping) -> list[dict]:
        """The page's Opportunities, each with every line item: a child set Salesforce paged
        is drained now, before the parent's locator moves on (which would void it)."""
        records = answer.get("records")
        if not isinstance(records, list) or not all(isinstance(one, dict) for one in records):
            raise PermanentConnectorError("Salesforce's query answer has no list of records")
        client = self.client
        for record in records:
            for relation in CHILD_RELATIONS:
                children = record.get(relation)
                if not isinstance(children, dict):
                    continue
                rows = list(children.get("records") or [])
                page = children
                while page.get("done") is False and page.get("nextRecordsUrl"):
                    page = client.query_more(page["nextRecordsUrl"])
                    rows += list(page.get("records") or [])
                record[relation] = {"done": True, "records": rows}
        return records

    def _map(self, record: Mapping) -> Deal:
        options = self.connection.connection_settings or {}
        exempt_field = options.get(constants.SETTING_EXEMPT_FIELD) or ""
        return mappers.deal_from_salesforce(
            record,
            currency=options.get("currency") or "NGN",
            prices_include_vat=options.get(constants.SETTING_PRICES_INCLUDE_VAT) is True,
            vat_rate=_rate(options.get(constants.SETTING_VAT_RATE)),
            tin_field=self.connection.tin_property,
            exempt_field=exempt_field
            if constants.CUSTOM_FIELD_PATTERN.fullmatch(exempt_field)
            else "",
            default_hs_code=options.get("default_hs_code", ""),
            default_product_category=options.get("default_product_category", ""),
        )

    # --- write-back --------------------------------------------------------------------------

    def deal_irn_note(self, *, deal_id: str, irn: str) -> None:
        """The IRN in the connection's Opportunity field, unless it holds it already (a retry
        after a lost answer writes nothing twice)."""
        options = self.connection.connection_settings or {}
        field = options.get(constants.SETTING_IRN_FIELD) or constants.DEFAULT_IRN_FIELD
        if not constants.CUSTOM_FIELD_PATTERN.fullmatch(field):
            raise PermanentConnectorError(f"The IRN field {field!r} is not a custom field name")
        client = self.client
        current = client.sobject("Opportunity", _record_id(deal_id), fields=[field])
        if current.get(field) == irn:
            return
        client.sobject_update("Opportunity", _record_id(deal_id), {field: irn})

    # --- OAuth -------------------------------------------------------------------------------

    def oauth_tokens(self, answer: Mapping, *, received_at: datetime) -> TokenSet:
        """Code exchanges and refreshes alike: signed, naming the org and a Salesforce host."""
        issuer = self._oauth().backend().access_token_url()
        client_secret = settings.PLATFORM_APPS[self.key]["client_secret"]
        problem = answer_problem(dict(answer), client_secret=client_secret, issuer=issuer)
        if problem:
            raise AuthenticationError(problem)
        tokens = token_set(answer, received_at=received_at, connector=self)
        return TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=None,
            account_id=org_id_of(answer["id"]),
            scopes=tokens.scopes,
            extra={"instance_url": instance_url_checked(answer["instance_url"], issuer=issuer)},
        )


def _record_id(value: object) -> str:
    if not isinstance(value, str) or not constants.RECORD_ID_PATTERN.fullmatch(value):
        raise PermanentConnectorError(f"{value!r} is not a Salesforce record id")
    return value


def _rate(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"The connection's VAT rate {value!r} is not a number") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise MappingError(f"The connection's VAT rate {value!r} is outside 0 to 100")
    return rate


def _cursor_read(text: str) -> dict:
    if not text:
        return {}
    try:
        state = json.loads(text)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _soap_fault(reason: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{constants.SOAP_ENV_NS}"><soapenv:Body>'
        "<soapenv:Fault><faultcode>soapenv:Client</faultcode>"
        f"<faultstring>{escape(reason[:500])}</faultstring></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()
