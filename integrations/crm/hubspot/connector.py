"""HubSpot as a CRM connector: OAuth with PKCE (or a private-app token), v3-signed webhooks, won
deals with their line items and buyer, back-fills and incremental syncs."""

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from integrations.base.canonical import Deal
from integrations.base.connectors import OAuthConnector, Pkce, TokenSet, WebhookEvent
from integrations.base.errors import MappingError, PermanentConnectorError
from integrations.crm.connectors import (
    Backfill,
    CRMConnector,
    DealsPage,
    IncrementalSync,
    PipelineStage,
    Webhooks,
)
from integrations.crm.hubspot import mappers
from integrations.crm.hubspot.client import API_BASE_URL, HubSpotClient
from integrations.crm.hubspot.oauth import HubSpotConnectOAuth2
from integrations.crm.hubspot.signatures import hubspot_signature_valid

# HubSpot's search stops at 10,000 results per query; past that, search again from the last
# change seen.
SEARCH_RESULT_CAP = 10_000
SEARCH_PAGE_SIZE = mappers.SEARCH_PAGE_LIMIT
# The search index trails writes by seconds: an exhausted search's next anchor stays this far
# behind now, so a deal indexed late is still found by the next sync.
SEARCH_INDEX_LAG = timedelta(seconds=30)
COMPANY_PROPERTIES = (
    "name",
    "domain",
    "email",
    "phone",
    "address",
    "address2",
    "city",
    "state",
    "zip",
    "country",
)
CONTACT_PROPERTIES = (
    "firstname",
    "lastname",
    "email",
    "phone",
    "mobilephone",
    "company",
    "address",
    "city",
    "state",
    "zip",
    "country",
)
# The keys a v3 GET lists associations under -> the object type to read them as.
ASSOCIATION_TYPES = {"line items": "line_items", "companies": "companies", "contacts": "contacts"}


class HubSpotConnector(CRMConnector, Webhooks, Backfill, IncrementalSync, OAuthConnector, Pkce):
    key = "hubspot"
    family = "crm"
    display_name = "HubSpot"
    default_base_url = API_BASE_URL

    oauth_backend = HubSpotConnectOAuth2
    scopes = (
        "oauth",
        "crm.objects.deals.read",
        "crm.objects.line_items.read",
        "crm.objects.companies.read",
        "crm.objects.contacts.read",
    )
    # The access-token info names the portal.
    account_id_key = "hub_id"
    # A refresh answers with the refresh token it was given: it lasts until the grant is revoked.
    refresh_token_rotates = False
    # Revoking deletes the grant's refresh token; access tokens just expire.
    revoke_with = "refresh_token"
    # Access tokens last 30 minutes: refresh them when 5 are left.
    token_refresh_margin_seconds = 300

    # --- webhooks ---------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST") -> bool:
        # ``url`` is the URI HubSpot signed (v2, v3): the one its subscription posts to.
        return hubspot_signature_valid(
            headers=headers, body=body, secret=secret, method=method, uri=url
        )

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    # --- the account --------------------------------------------------------------------------

    @property
    def client(self) -> HubSpotClient:
        credentials = self.credentials
        # A private-app token stands for the account alone and never expires.
        token = credentials.get("private_app_token") or credentials.get("access_token", "")
        return HubSpotClient(
            base_url=self.base_url, account=self.connection.account_id, access_token=token
        )

    def test_connection(self) -> None:
        self.client.pipelines()

    def pipelines(self) -> list[PipelineStage]:
        return [
            PipelineStage(
                pipeline_id=stage.pipeline_id,
                pipeline_label=stage.pipeline_label,
                stage_id=stage.stage_id,
                label=stage.label,
                is_won=stage.is_won,
            )
            for stage in mappers.pipeline_stages(self.client.pipelines())
            if not stage.archived
        ]

    # --- deals --------------------------------------------------------------------------------

    def deals_for_event(self, event: WebhookEvent) -> list[Deal]:
        if not _may_change_a_deals_invoicing(event):
            return []
        deal_json = self.client.deal(event.object_id, properties=mappers.DEAL_PROPERTIES)
        if not self._is_won(deal_json):
            # Its stage is what matters now; line items and buyer are read once it is won.
            try:
                return [self._map(_without_associations(deal_json))]
            except MappingError:
                return []  # an early-stage deal may have no amount yet: nothing to record
        deal_id = str(deal_json.get("id") or event.object_id)
        associated = {
            object_type: {deal_id: ids}
            for object_type, ids in _listed_associations(deal_json).items()
        }
        return [self._map(deal_json, **self._related([deal_id], associated)[deal_id])]

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        return _may_change_a_deals_invoicing(event)

    def deal_ids_for_event(self, event: WebhookEvent) -> list[str] | None:
        return [event.object_id] if _may_change_a_deals_invoicing(event) else None

    def deals_page(self, *, modified_after: datetime, after_cursor: str = "") -> DealsPage:
        won = self._won_stage_ids()
        started = timezone.now()
        client = self.client
        answer = client.deals_search(
            mappers.deals_search_request(
                modified_since_ms=_epoch_ms(modified_after),
                stage_ids=won,
                after=after_cursor or "0",
                limit=SEARCH_PAGE_SIZE,
            )
        )
        results = answer.get("results") or []
        deal_ids = [str(result["id"]) for result in results if _has_id(result)]
        associated = (
            {
                object_type: client.associations(
                    from_type="deals", to_type=object_type, object_ids=deal_ids
                )
                for object_type in ASSOCIATION_TYPES.values()
            }
            if deal_ids
            else {}
        )
        related = self._related(deal_ids, associated)
        deals, problems = [], []
        # The latest change on the page, whether or not its deal could be mapped.
        last_seen = max(filter(None, map(_modified_at, results)), default=None)
        for result in results:
            try:
                deal = self._map(result, **related.get(str(result.get("id")), {}))
            except MappingError as error:
                problems.append(str(error))
                continue
            deals.append(deal)
        next_after = str(((answer.get("paging") or {}).get("next") or {}).get("after") or "")
        anchor, cursor, has_more = modified_after, next_after, bool(next_after)
        if next_after.isdigit() and int(next_after) >= SEARCH_RESULT_CAP:
            # Paging on would be refused: search again from the last change seen.
            anchor, cursor = last_seen or modified_after, ""
            if _epoch_ms(anchor) <= _epoch_ms(modified_after):
                anchor = modified_after + timedelta(milliseconds=1)
                problems.append(
                    f"More than {SEARCH_RESULT_CAP} deals changed at {modified_after.isoformat()};"
                    " the ones past the cap were skipped"
                )
        elif not next_after:
            caught_up = started - SEARCH_INDEX_LAG
            if last_seen is not None:
                caught_up = min(caught_up, last_seen + timedelta(milliseconds=1))
            anchor = max(modified_after, caught_up)
        return DealsPage(
            deals=deals,
            modified_after=anchor,
            after_cursor=cursor,
            has_more=has_more,
            records=len(results),
            problems=problems,
        )

    def _related(
        self, deal_ids: list[str], associated: Mapping[str, Mapping[str, Collection[str]]]
    ) -> dict[str, dict]:
        """Deal id -> its line items, company and contact, read in one batch per object type."""
        client = self.client

        def listed(object_type: str, deal_id: str) -> list[str]:
            return list(associated.get(object_type, {}).get(deal_id, ()))

        def firsts(object_type: str) -> list[str]:
            return [ids[0] for ids in (listed(object_type, d) for d in deal_ids) if ids]

        line_items = _by_id(
            client.line_items([one for d in deal_ids for one in listed("line_items", d)])
        )
        companies = _by_id(
            client.objects(
                "companies",
                firsts("companies"),
                properties=(*COMPANY_PROPERTIES, self._options()["tin_property"]),
            )
        )
        contacts = _by_id(
            client.objects("contacts", firsts("contacts"), properties=CONTACT_PROPERTIES)
        )
        return {
            deal_id: {
                "line_items": [
                    line_items[one] for one in listed("line_items", deal_id) if one in line_items
                ],
                "company": companies.get(next(iter(listed("companies", deal_id)), "")),
                "contact": contacts.get(next(iter(listed("contacts", deal_id)), "")),
            }
            for deal_id in deal_ids
        }

    def _map(self, deal_json: Mapping, *, line_items=(), company=None, contact=None) -> Deal:
        options = self._options()
        return mappers.deal_from_hubspot(
            deal_json,
            line_items=line_items,
            company=company,
            contact=contact,
            won_stage_ids=self._won_stage_ids(),
            tin_property=options["tin_property"],
            default_currency=options["default_currency"],
            default_hs_code=options["default_hs_code"],
            default_product_category=options["default_product_category"],
        )

    def _is_won(self, deal_json: Mapping) -> bool:
        properties = deal_json.get("properties") or {}
        return properties.get("dealstage") in self._won_stage_ids()

    def _won_stage_ids(self) -> frozenset[str]:
        won = frozenset(self.connection.won_stage_ids or ())
        if not won:
            raise PermanentConnectorError("No deal stage is chosen as won for this connection")
        return won

    def _options(self) -> dict:
        options = self.connection.connection_settings or {}
        return {
            "tin_property": self.connection.tin_property or "tin",
            "default_currency": options.get("default_currency") or "NGN",
            "default_hs_code": options.get("default_hs_code", ""),
            "default_product_category": options.get("default_product_category", ""),
        }

    # --- OAuth (through social-core's HubSpot backend and the shared adapter) ---------------

    def oauth_tokens(self, answer: Mapping, *, received_at: datetime) -> TokenSet:
        # HubSpot's answer is checked strictly (a bearer token, a lifetime); the account and
        # scopes come from the access-token info the adapter merged in.
        tokens = mappers.oauth_tokens(answer, received_at=received_at)
        scopes = answer.get("scopes")
        return TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            account_id=str(answer.get(self.account_id_key) or ""),
            scopes=tuple(scopes) if isinstance(scopes, list) else (),
        )


def _may_change_a_deals_invoicing(event: WebhookEvent) -> bool:
    """A deal created (perhaps already won) or moved to another stage."""
    if event.event_type == "deal.creation":
        return True
    return (
        event.event_type == "deal.propertyChange"
        and event.payload.get("propertyName") == "dealstage"
    )


def _listed_associations(deal_json: Mapping) -> dict[str, list[str]]:
    """Object type -> the ids a v3 GET lists under the deal's ``associations``."""
    listed = deal_json.get("associations") or {}
    found: dict[str, list[str]] = {}
    for key, object_type in ASSOCIATION_TYPES.items():
        block = listed.get(key) or listed.get(key.replace(" ", "_")) or {}
        found[object_type] = list(
            dict.fromkeys(
                str(entry["id"])
                for entry in block.get("results", [])
                if isinstance(entry, Mapping) and entry.get("id")
            )
        )
    return found


def _modified_at(deal_json: object) -> datetime | None:
    """A search result's hs_lastmodifieddate (ISO 8601); None when it has none readable."""
    properties = deal_json.get("properties") if isinstance(deal_json, Mapping) else None
    text = (properties or {}).get("hs_lastmodifieddate")
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _by_id(objects: list[dict]) -> dict[str, dict]:
    return {str(one["id"]): one for one in objects if _has_id(one)}


def _has_id(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("id"), str) and bool(value["id"])


def _without_associations(deal_json: Mapping) -> dict:
    return {key: value for key, value in deal_json.items() if key != "associations"}


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
