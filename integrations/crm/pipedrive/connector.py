"""Pipedrive as a CRM connector: OAuth (the company's ``api_domain`` kept with the tokens) or a
personal API token, webhooks v2 that we subscribe ourselves with per-connection HTTP Basic
credentials, won deals with their products and buyer read through API v2, and the cursor-paged
pulls (live and archived deals) that recover whatever a banned webhook lost."""

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from integrations.base.canonical import Deal
from integrations.base.connectors import OAuthConnector, TokenSet, WebhookEvent
from integrations.base.errors import AuthenticationError, MappingError, RateLimited
from integrations.base.oauth import token_set
from integrations.crm.connectors import (
    Backfill,
    CRMConnector,
    DealsPage,
    IncrementalSync,
    IrnNotes,
    PipelineStage,
    Webhooks,
)
from integrations.crm.pipedrive import mappers
from integrations.crm.pipedrive.client import API_BASE_URL, PipedriveClient
from integrations.crm.pipedrive.oauth import PipedriveOAuth2, api_domain_checked
from integrations.crm.pipedrive.signatures import (
    WEBHOOK_USER,
    basic_credentials_valid,
    webhook_password,
)

DEALS_PAGE_SIZE = 100
# Pulls stop while less than this share of the company's daily token budget is left, and wait
# this long: what remains is the webhooks' (a won deal's fetch costs a few tokens, a page many).
BULK_BUDGET_RESERVE = 0.1
BULK_BUDGET_WAIT_SECONDS = 900.0
# The deal events we subscribe to: a deal made (perhaps won at once) and a deal changed.
WEBHOOK_ACTIONS = ("create", "change")
# Pulls go through the live deals, then the archived ones (the first list leaves them out).
DEAL_LISTS = ("deals", "archived")
# A deal's status is the same in every pipeline; Pipedrive's stages never mean won.
IRN_NOTE = "Invoiced through TaxPoynt: FIRS e-invoice signed, IRN {irn}"
STATUS_STAGES = (("open", "Open", False), ("won", "Won", True), ("lost", "Lost", False))


class PipedriveConnector(
    CRMConnector, Webhooks, Backfill, IncrementalSync, IrnNotes, OAuthConnector
):
    key = "pipedrive"
    family = "crm"
    display_name = "Pipedrive"
    default_base_url = API_BASE_URL

    oauth_backend = PipedriveOAuth2
    # An app's scopes are chosen in Pipedrive's Developer Hub, not asked for on authorize.
    scopes = ()
    account_id_key = "company_id"
    # A refresh answers with the refresh token it was given; each use keeps it alive.
    refresh_token_rotates = False
    # Revoking the refresh token ends the grant and every access token it gave.
    revoke_with = "refresh_token"
    # Access tokens last an hour.
    token_refresh_margin_seconds = 300
    webhook_signs_body = False

    # --- webhooks ---------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST") -> bool:
        # Only the Basic credentials of the subscription to ``url`` say who sent it.
        return basic_credentials_valid(headers=headers, secret=secret, url=url)

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        return mappers.event_changes_invoicing(event.payload)

    def deal_ids_for_event(self, event: WebhookEvent) -> list[str] | None:
        return [event.object_id] if mappers.event_changes_invoicing(event.payload) else None

    def webhooks_subscribe(self) -> None:
        """Our deal webhooks (v2, Basic credentials of this connection) replace any earlier
        ones to the same URL, so connecting again leaves one of each."""
        connection = self.connection
        url = connection.notification_url or connection.webhook_url
        if not url:
            return
        if not connection.webhook_secret or connection.notification_url != url:
            connection.webhook_secret = connection.webhook_secret or secrets.token_urlsafe(32)
            connection.notification_url = url
            connection.save(update_fields=["webhook_secret", "notification_url", "updated_at"])
        self.webhooks_unsubscribe()
        password = webhook_password(secret=connection.webhook_secret, url=url)
        for action in WEBHOOK_ACTIONS:
            self.client.webhook_create(
                {
                    "subscription_url": url,
                    "event_action": action,
                    "event_object": "deal",
                    "http_auth_user": WEBHOOK_USER,
                    "http_auth_password": password,
                    "version": "2.0",
                }
            )

    def webhooks_unsubscribe(self) -> None:
        url = self.connection.notification_url or self.connection.webhook_url
        client = self.client
        for webhook in client.webhooks():
            if url and webhook.get("subscription_url") == url and webhook.get("id") is not None:
                client.webhook_delete(str(webhook["id"]))

    # --- the account --------------------------------------------------------------------------

    @property
    def client(self) -> PipedriveClient:
        credentials = self.credentials
        api_token = credentials.get("api_token", "")
        return PipedriveClient(
            # An OAuth grant is for the company's own host; a personal token goes anywhere.
            base_url=credentials.get("api_domain") or self.base_url,
            account=self.connection.account_id,
            access_token="" if api_token else credentials.get("access_token", ""),
            api_token=api_token,
        )

    def test_connection(self) -> None:
        self.client.user_me()

    def pipelines(self) -> list[PipelineStage]:
        return [
            PipelineStage(
                pipeline_id="",
                pipeline_label="Every pipeline",
                stage_id=stage_id,
                label=label,
                is_won=is_won,
            )
            for stage_id, label, is_won in STATUS_STAGES
        ]

    # --- deals --------------------------------------------------------------------------------

    def deals_for_event(self, event: WebhookEvent) -> list[Deal]:
        if not mappers.event_changes_invoicing(event.payload):
            return []
        # The delivery is unsigned and may be stale: the deal is read as it is now.
        deal_json = self.client.deal(event.object_id)
        if deal_json.get("status") != mappers.WON:
            try:
                return [self._map(deal_json)]
            except MappingError:
                return []  # an open deal may lack what an invoice needs: nothing to record
        related = self._related([deal_json]).get(str(deal_json.get("id")), {})
        return [self._map(deal_json, **related)]

    def deals_page(self, *, modified_after: datetime, after_cursor: str = "") -> DealsPage:
        client = self.client
        left = client.budget_left()
        if left is not None and left < BULK_BUDGET_RESERVE:
            raise RateLimited(
                f"Pipedrive's daily token budget is down to {left:.0%}: pulls wait, webhooks go on",
                retry_after=BULK_BUDGET_WAIT_SECONDS,
                status=None,
            )
        listing, cursor, latest = _cursor_read(after_cursor)
        params = {
            "updated_since": _rfc3339(modified_after),
            "status": mappers.WON,
            "sort_by": "update_time",
            "sort_direction": "asc",
            "limit": DEALS_PAGE_SIZE,
            **({"cursor": cursor} if cursor else {}),
        }
        answer = client.deals_list(archived=listing == "archived", params=params)
        results = [one for one in answer.get("data") or [] if isinstance(one, Mapping)]
        related = self._related(results)
        deals, problems = [], []
        for result in results:
            try:
                deals.append(self._map(result, **related.get(str(result.get("id")), {})))
            except MappingError as error:
                problems.append(str(error))
        seen = [moment for moment in map(mappers.deal_update_time, results) if moment]
        latest = max([*seen, *([latest] if latest else [])], default=None)
        next_cursor = (answer.get("additional_data") or {}).get("next_cursor")
        if isinstance(next_cursor, str) and next_cursor:
            has_more, after = True, _cursor_text(listing, next_cursor, latest)
        elif listing == DEAL_LISTS[0]:
            has_more, after = True, _cursor_text(DEAL_LISTS[1], "", latest)
        else:
            has_more, after = False, ""
        anchor = max(modified_after, latest) if latest and not has_more else modified_after
        return DealsPage(
            deals=deals,
            # ``updated_since`` is inclusive: the next pull starts at the last change seen and
            # reads its deals again, which recording them again leaves as they are.
            modified_after=anchor,
            after_cursor=after,
            has_more=has_more,
            records=len(results),
            problems=problems,
        )

    def _related(self, deals: list[Mapping]) -> dict[str, dict]:
        """Deal id -> its products, person and organization, for the won deals among ``deals``,
        read in one batch per kind."""
        won = [deal for deal in deals if deal.get("status") == mappers.WON and deal.get("id")]
        if not won:
            return {}
        client = self.client
        deal_ids = [str(deal["id"]) for deal in won]
        products: dict[str, list] = {deal_id: [] for deal_id in deal_ids}
        for product in client.deals_products(deal_ids):
            products.setdefault(str(product.get("deal_id")), []).append(product)
        parties = [mappers.party_ids(deal) for deal in won]
        persons = _by_id(client.persons([person for person, _ in parties if person]))
        organizations = _by_id(client.organizations([org for _, org in parties if org]))
        return {
            deal_id: {
                "products": sorted(products.get(deal_id, []), key=_product_order),
                "person": persons.get(person),
                "organization": organizations.get(org),
            }
            for deal_id, (person, org) in zip(deal_ids, parties, strict=True)
        }

    def _map(self, deal_json: Mapping, *, products=(), person=None, organization=None) -> Deal:
        options = self.connection.connection_settings or {}
        return mappers.deal_from_pipedrive(
            deal_json,
            products=products,
            person=person,
            organization=organization,
            tin_field=self.connection.tin_property,
            default_hs_code=options.get("default_hs_code", ""),
            default_product_category=options.get("default_product_category", ""),
        )

    def deal_irn_note(self, *, deal_id: str, irn: str) -> None:
        # A note already naming the IRN (an earlier try whose answer was lost) is enough.
        client = self.client
        if any(irn in str(note.get("content") or "") for note in client.notes(deal_id=deal_id)):
            return
        client.note_create(deal_id=deal_id, content=IRN_NOTE.format(irn=irn))

    # --- OAuth (the shared adapter, with Pipedrive's company host kept) ----------------------

    def oauth_tokens(self, answer: Mapping, *, received_at: datetime) -> TokenSet:
        tokens = token_set(answer, received_at=received_at, connector=self)
        issuer = self._oauth().backend().access_token_url()
        api_domain = api_domain_checked(answer.get("api_domain"), oauth_url=issuer)
        if not api_domain:
            raise AuthenticationError("Pipedrive's token answer names no usable api_domain")
        return TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            account_id=tokens.account_id,
            scopes=tokens.scopes,
            extra={"api_domain": api_domain},
        )


def _cursor_read(text: str) -> tuple[str, str, datetime | None]:
    """(which list, Pipedrive's cursor in it, the latest change seen so far) of our cursor."""
    if not text:
        return DEAL_LISTS[0], "", None
    try:
        state = json.loads(text)
        latest = datetime.fromisoformat(state["latest"]) if state.get("latest") else None
        listing, cursor = state["list"], state["cursor"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return DEAL_LISTS[0], "", None  # an unreadable cursor starts the anchor's pull again
    if listing not in DEAL_LISTS or not isinstance(cursor, str):
        return DEAL_LISTS[0], "", None
    return listing, cursor, latest


def _cursor_text(listing: str, cursor: str, latest: datetime | None) -> str:
    return json.dumps(
        {"list": listing, "cursor": cursor, "latest": latest.isoformat() if latest else None},
        separators=(",", ":"),
    )


def _rfc3339(moment: datetime) -> str:
    # Whole seconds, rounded down: the inclusive filter then only reads a little more.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _by_id(records: list[dict]) -> dict[str, dict]:
    return {str(one["id"]): one for one in records if one.get("id") is not None}


def _product_order(product: Mapping) -> tuple:
    order, product_id = product.get("order_nr"), product.get("id")
    return tuple(value if isinstance(value, int) else 0 for value in (order, product_id))
