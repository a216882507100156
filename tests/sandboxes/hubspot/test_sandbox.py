"""The HubSpot sandbox through HTTP: OAuth, CRM objects, search, associations, pipelines, rate
limits and faults, answering with HubSpot's shapes (the samples and the OpenAPI specs)."""

import base64
import hashlib
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from integrations.crm.hubspot.mappers import (
    LINE_ITEM_PROPERTIES,
    associations_from_batch,
    deal_from_hubspot,
    error_answer,
    oauth_tokens,
    won_stage_ids,
)
from sandboxes.hubspot.models import HubSpotSandboxAccessToken, HubSpotSandboxObject
from sandboxes.hubspot.server import (
    SEARCH_RESULT_CAP,
    sandbox_portal_create,
)
from tests.integrations.crm.hubspot.support import BASE, SandboxClient, sample, to

RATE_HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
)
ERROR_KEYS = {"status", "message", "correlationId", "category"}


@pytest.fixture
def portal(db):
    return sandbox_portal_create(redirect_uri="https://app.taxpoynt.test/oauth/hubspot/callback")


@pytest.fixture
def hubspot(client, portal):
    return SandboxClient(client, portal.private_app_token)


def created(response) -> dict:
    assert response.status_code == 201, response.json()
    return response.json()


def company_create(hubspot, **properties) -> dict:
    body = {
        "properties": {
            "name": "Acme Nigeria Ltd",
            "tin": "12345678-0001",
            "city": "Ikeja",
            "state": "Lagos",
            "country": "Nigeria",
            **properties,
        }
    }
    return created(hubspot.post("/crm/v3/objects/companies", body))


def deal_create(hubspot, *, associations=(), **properties) -> dict:
    body = {
        "properties": {"dealname": "50 POS terminals", "dealstage": "qualifiedtobuy", **properties},
        "associations": list(associations),
    }
    return created(hubspot.post("/crm/v3/objects/deals", body))


def line_item_create(hubspot, deal_id, **properties) -> dict:
    body = {
        "properties": {"name": "POS terminal", "quantity": "50", "price": "24000.01", **properties},
        "associations": [to(deal_id, 20)],
    }
    return created(hubspot.post("/crm/v3/objects/line_items", body))


def assert_hubspot_error(response, status: int, category: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert (body["status"], body["category"]) == ("error", category)
    return body


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "pat-na1-unknown"])
def test_a_request_without_a_valid_token_is_refused(client, db, token):
    response = SandboxClient(client, token).get("/crm/v3/objects/deals")

    assert_hubspot_error(response, 401, "INVALID_AUTHENTICATION")


def test_an_expired_access_token_is_refused_as_expired(client, portal):
    HubSpotSandboxAccessToken.objects.create(
        account=portal,
        client_id=portal.client_id,
        access_token="CN-expired",
        refresh_token="r-1",
        expires_at=timezone.now() - timedelta(seconds=5),
    )
    response = SandboxClient(client, "CN-expired").get("/crm/v3/objects/deals")

    body = assert_hubspot_error(response, 401, "EXPIRED_AUTHENTICATION")
    assert "expired" in body["message"]


# --- objects and associations --------------------------------------------------------------


def test_a_deal_with_company_contact_and_line_items_reads_back_as_hubspot_shapes_it(hubspot):
    company = company_create(hubspot)
    contact = created(
        hubspot.post(
            "/crm/v3/objects/contacts",
            {"properties": {"email": "ada@acme.ng", "firstname": "Ada", "lastname": "Obi"}},
        )
    )
    deal = deal_create(
        hubspot, associations=[to(company["id"], 5), to(contact["id"], 3)], closedate=None
    )
    first = line_item_create(hubspot, deal["id"])
    second = line_item_create(hubspot, deal["id"], name="Installation", quantity="1", price="50000")

    response = hubspot.get(
        f"/crm/v3/objects/deals/{deal['id']}",
        associations="line_items,companies,contacts",
        properties="dealname,amount,dealstage,pipeline,closedate,deal_currency_code",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(sample("get-deal-with-associations"))
    assert body["properties"]["amount"] == "1250000.50"  # follows the line items
    assert body["properties"]["closedate"] is None
    assert body["associations"]["line items"]["results"] == [
        {"id": first["id"], "type": "deal_to_line_item"},
        {"id": second["id"], "type": "deal_to_line_item"},
    ]
    assert body["associations"]["companies"]["results"] == [
        {"id": company["id"], "type": "deal_to_company"},
        {"id": company["id"], "type": "deal_to_company_unlabeled"},
    ]
    assert body["associations"]["contacts"]["results"] == [
        {"id": contact["id"], "type": "deal_to_contact"}
    ]

    lines = hubspot.post(
        "/crm/v3/objects/line_items/batch/read",
        {
            "inputs": [{"id": first["id"]}, {"id": second["id"]}],
            "properties": list(LINE_ITEM_PROPERTIES),
        },
    )
    company_json = hubspot.get(
        f"/crm/v3/objects/companies/{company['id']}", properties="name,tin,city,state,country"
    ).json()
    mapped = deal_from_hubspot(
        body,
        line_items=lines.json()["results"],
        company=company_json,
        won_stage_ids=won_stage_ids(hubspot.get("/crm/v3/pipelines/deals").json()),
    )
    assert mapped.amount == Decimal("1250000.50")
    assert [line.unit_price for line in mapped.lines] == [Decimal("24000.01"), Decimal("50000")]
    assert (mapped.buyer.tin, mapped.buyer.state, mapped.is_won) == (
        "12345678-0001",
        "NG-LA",
        False,
    )


def test_line_items_compute_their_amount_from_discounts(hubspot):
    deal = deal_create(hubspot)
    unit = line_item_create(hubspot, deal["id"], quantity="4", price="2500", discount="100")
    percent = line_item_create(
        hubspot, deal["id"], quantity="3", price="1000", hs_discount_percentage="12.5"
    )

    read = hubspot.post(
        "/crm/v3/objects/line_items/batch/read",
        {
            "inputs": [{"id": unit["id"]}, {"id": percent["id"]}],
            "properties": ["amount", "hs_total_discount"],
        },
    ).json()["results"]
    assert [(r["properties"]["amount"], r["properties"]["hs_total_discount"]) for r in read] == [
        ("9600.00", "400.00"),
        ("2625.00", "375.00"),
    ]
    deal_json = hubspot.get(f"/crm/v3/objects/deals/{deal['id']}").json()
    assert deal_json["properties"]["amount"] == "12225.00"


def test_changing_a_line_item_changes_its_deals_amount(hubspot):
    deal = deal_create(hubspot)
    line = line_item_create(hubspot, deal["id"], quantity="2", price="1000")

    response = hubspot.patch(
        f"/crm/v3/objects/line_items/{line['id']}", {"properties": {"quantity": "3"}}
    )

    assert response.status_code == 200
    assert response.json()["properties"]["amount"] == "3000.00"
    assert (
        hubspot.get(f"/crm/v3/objects/deals/{deal['id']}").json()["properties"]["amount"]
        == "3000.00"
    )


def test_patch_checks_the_stage_against_the_pipeline(hubspot):
    deal = deal_create(hubspot)

    response = hubspot.patch(
        f"/crm/v3/objects/deals/{deal['id']}", {"properties": {"pipeline": "enterprise"}}
    )

    body = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert body["errors"][0]["context"] == {"propertyName": ["dealstage"]}


def test_contacts_name_their_modified_date_lastmodifieddate(hubspot):
    contact = created(hubspot.post("/crm/v3/objects/contacts", {"properties": {"email": "a@b.ng"}}))

    assert "lastmodifieddate" in contact["properties"]
    assert "hs_lastmodifieddate" not in contact["properties"]


def test_moving_a_deal_to_won_dates_its_close_and_its_change(hubspot):
    deal = deal_create(hubspot)
    before = deal["properties"]["hs_lastmodifieddate"]
    time.sleep(0.002)

    response = hubspot.patch(
        f"/crm/v3/objects/deals/{deal['id']}", {"properties": {"dealstage": "closedwon"}}
    )

    assert response.status_code == 200
    won = hubspot.get(
        f"/crm/v3/objects/deals/{deal['id']}", properties="closedate,hs_is_closed_won,dealstage"
    ).json()["properties"]
    assert won["dealstage"] == "closedwon"
    assert won["hs_is_closed_won"] == "true"
    assert won["closedate"] is not None
    assert won["hs_lastmodifieddate"] > before


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"dealname": "x", "dealstage": "not-a-stage"}, "INVALID_OPTION"),
        ({"dealname": "x", "dealstage": "closedwon", "pipeline": "nope"}, "INVALID_OPTION"),
        ({"dealstage": "closedwon"}, "REQUIRED_PROPERTY"),
        ({"dealname": "x", "dealstage": "closedwon", "hs_object_id": "1"}, "READ_ONLY_VALUE"),
        ({"dealname": "x", "dealstage": "closedwon", "amount": "1,000"}, "INVALID_DECIMAL"),
        ({"dealname": "x", "dealstage": "closedwon", "closedate": "tomorrow"}, "INVALID_DATE"),
        ({"dealname": ["x"], "dealstage": "closedwon"}, "INVALID_TYPE"),
    ],
)
def test_invalid_deal_properties_are_refused_with_the_property_named(hubspot, properties, code):
    response = hubspot.post("/crm/v3/objects/deals", {"properties": properties})

    body = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == "Property values were not valid"
    assert body["errors"][0]["code"] == code
    assert HubSpotSandboxObject.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "category"),
    [
        ("/crm/v3/objects/tickets", {"properties": {}}, 400, "VALIDATION_ERROR"),
        ("/crm/v3/objects/deals", None, 400, "VALIDATION_ERROR"),
        ("/crm/v3/objects/deals", {"properties": "dealname=x"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_malformed_create_requests_are_refused(hubspot, path, body, status, category):
    response = hubspot.client.post(
        BASE + path,
        data=b"{not json" if body is None else body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {hubspot.token}"},
    )
    assert_hubspot_error(response, status, category)


def test_an_unknown_object_is_not_found(hubspot):
    assert_hubspot_error(hubspot.get("/crm/v3/objects/deals/999999999"), 404, "OBJECT_NOT_FOUND")
    assert_hubspot_error(hubspot.get("/crm/v3/objects/deals/abc"), 404, "OBJECT_NOT_FOUND")


def test_another_accounts_objects_are_not_found(hubspot, client):
    deal = deal_create(hubspot)
    other = SandboxClient(client, sandbox_portal_create().private_app_token)

    assert_hubspot_error(other.get(f"/crm/v3/objects/deals/{deal['id']}"), 404, "OBJECT_NOT_FOUND")


def test_a_contact_email_is_unique_in_an_account(hubspot):
    body = {"properties": {"email": "ada@acme.ng"}}
    existing = created(hubspot.post("/crm/v3/objects/contacts", body))

    response = hubspot.post("/crm/v3/objects/contacts", body)

    error = assert_hubspot_error(response, 409, "CONFLICT")
    assert existing["id"] in error["message"]


def test_a_line_item_belongs_to_one_deal(hubspot):
    line = line_item_create(hubspot, deal_create(hubspot)["id"])

    response = hubspot.post(
        "/crm/v3/objects/deals",
        {
            "properties": {"dealname": "x", "dealstage": "closedwon"},
            "associations": [to(line["id"], 19)],
        },
    )

    assert_hubspot_error(response, 400, "INVALID_ASSOCIATION")


@pytest.mark.parametrize(
    "association",
    [
        to("1", 20),  # line item -> deal, from a deal
        {
            "to": {"id": "1"},
            "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 5}],
        },
        {"to": {"id": "x"}, "types": []},
    ],
)
def test_bad_associations_are_refused(hubspot, association):
    response = hubspot.post(
        "/crm/v3/objects/deals",
        {"properties": {"dealname": "x", "dealstage": "closedwon"}, "associations": [association]},
    )
    assert response.status_code == 400
    assert HubSpotSandboxObject.objects.count() == 0


def test_associating_an_unknown_object_is_not_found(hubspot):
    response = hubspot.post(
        "/crm/v3/objects/deals",
        {
            "properties": {"dealname": "x", "dealstage": "closedwon"},
            "associations": [to("123456789", 5)],
        },
    )
    assert_hubspot_error(response, 404, "OBJECT_NOT_FOUND")


def test_batch_read_reports_missing_ids_as_hubspot_does(hubspot):
    deal = deal_create(hubspot)
    line = line_item_create(hubspot, deal["id"])

    complete = hubspot.post("/crm/v3/objects/line_items/batch/read", sample_request([line["id"]]))
    partial = hubspot.post(
        "/crm/v3/objects/line_items/batch/read", sample_request([line["id"], "404404"])
    )

    assert complete.status_code == 200
    assert set(complete.json()) == set(sample("batch-read-line-items-response"))
    [result] = complete.json()["results"]
    assert result["properties"]["hs_line_item_currency_code"] is None
    assert result["properties"]["amount"] == "1200000.50"
    assert partial.status_code == 207
    [error] = partial.json()["errors"]
    assert (error["category"], error["context"]) == ("OBJECT_NOT_FOUND", {"ids": ["404404"]})


def sample_request(ids: list[str]) -> dict:
    request = sample("batch-read-line-items-request")
    request["inputs"] = [{"id": line_id} for line_id in ids]
    return request


def test_batch_read_takes_1_to_100_ids(hubspot):
    for inputs in ([], [{"id": str(n)} for n in range(101)]):
        response = hubspot.post("/crm/v3/objects/line_items/batch/read", {"inputs": inputs})
        assert_hubspot_error(response, 400, "VALIDATION_ERROR")


def test_v4_association_batch_read_lists_a_deals_line_items(hubspot):
    deal = deal_create(hubspot)
    lines = [line_item_create(hubspot, deal["id"]) for _ in range(2)]
    lonely = deal_create(hubspot)

    response = hubspot.post(
        "/crm/v4/associations/deals/line_items/batch/read",
        {"inputs": [{"id": deal["id"]}, {"id": lonely["id"]}]},
    )

    assert response.status_code == 207
    body = response.json()
    [result] = body["results"]
    expected_shape = sample("associations-v4-batch-read-deal-to-line-items")["results"][0]
    assert result["to"][0]["associationTypes"] == expected_shape["to"][0]["associationTypes"]
    assert isinstance(result["to"][0]["toObjectId"], int)
    assert associations_from_batch(body) == {deal["id"]: tuple(line["id"] for line in lines)}
    assert body["errors"][0]["context"] == {"fromObjectId": [lonely["id"]]}
    # The other way round, by HubSpot's object type ids.
    back = hubspot.post(
        "/crm/v4/associations/0-8/0-3/batch/read", {"inputs": [{"id": lines[0]["id"]}]}
    ).json()
    assert back["results"][0]["to"][0]["associationTypes"][0]["typeId"] == 20


def test_deal_pipelines_show_the_won_stage(hubspot):
    response = hubspot.get("/crm/v3/pipelines/deals")

    assert response.status_code == 200
    [pipeline] = response.json()["results"]
    assert pipeline["id"] == "default"
    assert [stage["id"] for stage in pipeline["stages"]][-2:] == ["closedwon", "closedlost"]
    assert won_stage_ids(response.json()) == {"closedwon"}
    assert_hubspot_error(hubspot.get("/crm/v3/pipelines/line_items"), 400, "VALIDATION_ERROR")


def test_listing_deals_pages_with_an_opaque_cursor(hubspot):
    ids = [deal_create(hubspot, dealname=f"Deal {n}")["id"] for n in range(5)]

    seen, after = [], None
    while True:
        query = {"limit": 2, **({"after": after} if after else {})}
        body = hubspot.get("/crm/v3/objects/deals", **query).json()
        seen += [result["id"] for result in body["results"]]
        after = body.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
    assert seen == ids
    assert_hubspot_error(hubspot.get("/crm/v3/objects/deals", limit=101), 400, "VALIDATION_ERROR")
    assert_hubspot_error(hubspot.get("/crm/v3/objects/deals", after="%%%"), 400, "VALIDATION_ERROR")


# --- search --------------------------------------------------------------------------------


def test_search_finds_won_deals_modified_since_and_pages_with_after(hubspot):
    old = deal_create(hubspot, dealstage="closedwon")
    time.sleep(0.002)
    since = hubspot.get(f"/crm/v3/objects/deals/{old['id']}").json()["updatedAt"]
    won = []
    for n in range(5):
        deal = deal_create(hubspot, dealname=f"Won {n}")
        hubspot.patch(
            f"/crm/v3/objects/deals/{deal['id']}", {"properties": {"dealstage": "closedwon"}}
        )
        won.append(deal["id"])
    deal_create(hubspot)  # open: not found
    request = sample("search-deals-request")
    request["filterGroups"][0]["filters"][0].update(operator="GT", value=since)
    request["limit"] = 2

    found, pages = [], 0
    while True:
        body = hubspot.post("/crm/v3/objects/deals/search", request).json()
        assert body["total"] == 5
        found += [result["id"] for result in body["results"]]
        pages += 1
        if "paging" not in body:
            break
        request["after"] = body["paging"]["next"]["after"]

    assert found == won
    assert pages == 3
    assert set(body["results"][0]) == set(sample("search-deals-response")["results"][0])
    assert set(body["results"][0]["properties"]) >= set(request["properties"])


def test_search_filter_groups_are_ored_and_in_matches_any(hubspot):
    won = deal_create(hubspot, dealstage="closedwon")
    lost = deal_create(hubspot, dealstage="closedlost")
    deal_create(hubspot)
    either = {
        "filterGroups": [
            {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]},
            {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedlost"}]},
        ]
    }
    among = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "dealstage",
                        "operator": "IN",
                        "values": ["closedwon", "closedlost"],
                    }
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
    }

    assert [
        r["id"] for r in hubspot.post("/crm/v3/objects/deals/search", either).json()["results"]
    ] == [won["id"], lost["id"]]
    assert [
        r["id"] for r in hubspot.post("/crm/v3/objects/deals/search", among).json()["results"]
    ] == [lost["id"], won["id"]]


def test_search_neq_includes_records_without_the_property(hubspot):
    deal_create(hubspot, description="rush order")
    plain = deal_create(hubspot)
    request = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "description", "operator": "NEQ", "value": "rush order"},
                ]
            }
        ]
    }

    found = hubspot.post("/crm/v3/objects/deals/search", request).json()["results"]

    assert [result["id"] for result in found] == [plain["id"]]


@pytest.mark.parametrize(
    "request_body",
    [
        {"limit": 201},
        {"limit": 0},
        {"after": "abc"},
        {"query": "acme"},
        {"sorts": [{"propertyName": "amount", "direction": "ASCENDING"}]},
        {"sorts": [{"propertyName": "createdate", "direction": "UP"}]},
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "GT", "value": "5"}]}
            ]
        },
        {"filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "EQ"}]}]},
        {"filterGroups": [{"filters": []}]},
        {
            "filterGroups": [{"filters": [{"propertyName": "x", "operator": "EQ", "value": "1"}]}]
            * 6
        },
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "x"}
                    ]
                }
            ]
        },
    ],
)
def test_invalid_searches_are_refused(hubspot, request_body):
    response = hubspot.post("/crm/v3/objects/deals/search", request_body)
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")


def test_search_stops_at_10000_results_as_hubspot_does(hubspot, portal):
    now = timezone.now()
    HubSpotSandboxObject.objects.bulk_create(
        HubSpotSandboxObject(
            portal=portal,
            object_type="deals",
            properties={"dealname": f"Deal {n}", "dealstage": "closedwon", "pipeline": "default"},
            created_at=now,
            updated_at=now + timedelta(milliseconds=n),
        )
        for n in range(SEARCH_RESULT_CAP + 50)
    )
    request = {
        "filterGroups": [
            {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200,
        "after": str(SEARCH_RESULT_CAP - 200),
    }

    last_page = hubspot.post("/crm/v3/objects/deals/search", request)
    request["after"] = last_page.json()["paging"]["next"]["after"]
    beyond = hubspot.post("/crm/v3/objects/deals/search", request)

    assert last_page.status_code == 200
    assert last_page.json()["total"] == SEARCH_RESULT_CAP + 50
    assert len(last_page.json()["results"]) == 200
    assert last_page.json()["results"][-1]["properties"]["dealname"] == "Deal 9999"
    assert request["after"] == "10000"
    body = assert_hubspot_error(beyond, 400, "VALIDATION_ERROR")
    assert "10,000" in body["message"]


# --- OAuth over real HTTP ------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(b"v" * 48).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def test_oauth_code_with_pkce_then_refresh_then_revoke(live_server, transactional_db):
    portal = sandbox_portal_create(redirect_uri="https://app.taxpoynt.test/callback?from=hubspot")
    base = f"{live_server.url}{BASE}"
    verifier, challenge = pkce_pair()
    http = requests.Session()

    authorize = http.get(
        f"{base}/oauth/authorize",
        params={
            "client_id": portal.client_id,
            "redirect_uri": portal.redirect_uri,
            "scope": "oauth crm.objects.deals.read",
            "state": "st-123",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert authorize.status_code == 302
    location = urlsplit(authorize.headers["Location"])
    query = parse_qs(location.query)
    assert location.netloc == "app.taxpoynt.test"
    assert (query["state"], query["from"]) == (["st-123"], ["hubspot"])
    code = query["code"][0]

    def grant(**form):
        return http.post(
            f"{base}/oauth/v1/token",
            data={"client_id": portal.client_id, "client_secret": portal.client_secret, **form},
            timeout=10,
        )

    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": portal.redirect_uri,
    }
    wrong_verifier = grant(**exchange, code_verifier="w" * 64)
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["status"] == "BAD_AUTH_CODE"
    tokens = grant(**exchange, code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    assert set(tokens.json()) == set(sample("oauth-v1-token-response"))
    assert tokens.json()["expires_in"] == 1800
    assert grant(**exchange, code_verifier=verifier).json()["status"] == "BAD_AUTH_CODE"  # once

    access = tokens.json()["access_token"]
    deals = http.get(
        f"{base}/crm/v3/objects/deals", headers={"Authorization": f"Bearer {access}"}, timeout=10
    )
    assert deals.status_code == 200
    info = http.get(f"{base}/oauth/v1/access-tokens/{access}", timeout=10).json()
    assert (info["hub_id"], info["app_id"]) == (portal.hub_id, portal.app_id)
    assert "crm.objects.deals.read" in info["scopes"]

    refresh_token = tokens.json()["refresh_token"]
    refreshed = grant(grant_type="refresh_token", refresh_token=refresh_token)
    assert refreshed.status_code == 200
    parsed = oauth_tokens(refreshed.json(), received_at=timezone.now())
    assert parsed.refresh_token == refresh_token
    assert parsed.access_token != access

    assert (
        http.delete(f"{base}/oauth/v1/refresh-tokens/{refresh_token}", timeout=10).status_code
        == 204
    )
    after_revoke = grant(grant_type="refresh_token", refresh_token=refresh_token)
    assert error_answer(after_revoke.json()).status == "BAD_REFRESH_TOKEN"
    revoked_access = http.get(
        f"{base}/crm/v3/objects/deals",
        headers={"Authorization": f"Bearer {parsed.access_token}"},
        timeout=10,
    )
    assert revoked_access.status_code == 401


def test_authorize_without_pkce_and_its_refusals(client, portal):
    def authorize(**overrides):
        query = {
            "client_id": portal.client_id,
            "redirect_uri": portal.redirect_uri,
            "scope": "oauth",
            **overrides,
        }
        return client.get(f"{BASE}/oauth/authorize", {k: v for k, v in query.items() if v})

    assert authorize().status_code == 302
    assert authorize(client_id="nope").json()["status"] == "BAD_CLIENT_ID"
    assert authorize(redirect_uri="https://evil.test/cb").json()["status"] == "BAD_REDIRECT_URI"
    assert authorize(scope="").json()["status"] == "BAD_SCOPE"
    plain = authorize(code_challenge="c" * 43, code_challenge_method="plain")
    assert plain.json()["status"] == "BAD_CODE_CHALLENGE"


def test_token_grant_refusals(client, portal):
    def grant(**form):
        return client.post(f"{BASE}/oauth/v1/token", form).json()["status"]

    good = {"client_id": portal.client_id, "client_secret": portal.client_secret}
    assert grant(**good, grant_type="password") == "BAD_GRANT_TYPE"
    assert (
        grant(**{**good, "client_secret": "x"}, grant_type="refresh_token") == "BAD_CLIENT_SECRET"
    )
    assert grant(**good, grant_type="authorization_code", code="nope") == "BAD_AUTH_CODE"
    assert grant(**good, grant_type="refresh_token", refresh_token="nope") == "BAD_REFRESH_TOKEN"


def test_an_expired_code_is_refused(client, portal):
    location = client.get(
        f"{BASE}/oauth/authorize",
        {"client_id": portal.client_id, "redirect_uri": portal.redirect_uri, "scope": "oauth"},
    )["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    portal.authorization_codes.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(
        f"{BASE}/oauth/v1/token",
        {
            "grant_type": "authorization_code",
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
            "redirect_uri": portal.redirect_uri,
            "code": code,
        },
    )
    assert response.json()["status"] == "BAD_AUTH_CODE"


# --- rate limits and faults ----------------------------------------------------------------


def fresh_rate_window():
    """Start at least 3 s before a ten-second window ends, so a test's requests share one."""
    into_window = time.time() % 10
    if into_window > 7:
        time.sleep(10 - into_window + 0.05)


def test_every_answer_carries_rate_limit_headers(hubspot, portal):
    fresh_rate_window()
    ok = hubspot.get("/crm/v3/objects/deals")
    missing = hubspot.get("/crm/v3/objects/deals/1")
    bad = hubspot.post("/crm/v3/objects/deals/search", {"limit": 999})

    for response in (ok, missing, bad):
        assert all(name in response for name in RATE_HEADERS), response.headers
    assert ok["X-HubSpot-RateLimit-Max"] == str(portal.ten_secondly_limit)
    assert ok["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(ok["X-HubSpot-RateLimit-Remaining"]) - int(bad["X-HubSpot-RateLimit-Remaining"]) == 2
    assert int(ok["X-HubSpot-RateLimit-Daily-Remaining"]) == portal.daily_limit - 1


def test_the_ten_secondly_budget_answers_429_with_hubspots_body(client, db):
    portal = sandbox_portal_create(ten_secondly_limit=3)
    hubspot = SandboxClient(client, portal.private_app_token)
    fresh_rate_window()

    answers = [hubspot.get("/crm/v3/objects/deals") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert set(limited.json()) == set(sample("error-429-ten-secondly-rolling"))
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.json()["message"] == sample("error-429-ten-secondly-rolling")["message"]
    assert 1 <= int(limited["Retry-After"]) <= 10
    assert limited["X-HubSpot-RateLimit-Remaining"] == "0"
    assert all(name in limited for name in RATE_HEADERS)
    # The budget is the token's: the app's OAuth token has its own.
    other_token = SandboxClient(client, oauth_access_token(client, portal))
    assert other_token.get("/crm/v3/objects/deals").status_code == 200


def oauth_access_token(client, portal) -> str:
    location = client.get(
        f"{BASE}/oauth/authorize",
        {"client_id": portal.client_id, "redirect_uri": portal.redirect_uri, "scope": "oauth"},
    )["Location"]
    return client.post(
        f"{BASE}/oauth/v1/token",
        {
            "grant_type": "authorization_code",
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
            "redirect_uri": portal.redirect_uri,
            "code": parse_qs(urlsplit(location).query)["code"][0],
        },
    ).json()["access_token"]


def test_the_daily_budget_answers_429_until_midnight(client, db):
    portal = sandbox_portal_create(daily_limit=1)
    hubspot = SandboxClient(client, portal.private_app_token)

    assert hubspot.get("/crm/v3/objects/deals").status_code == 200
    limited = hubspot.get("/crm/v3/objects/deals")

    assert limited.status_code == 429
    assert limited.json()["policyName"] == "DAILY"
    assert limited["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert 1 <= int(limited["Retry-After"]) <= 86_400


def test_faults_force_429_and_5xx_for_one_account(hubspot, client):
    bystander = SandboxClient(client, sandbox_portal_create().private_app_token)
    switched = hubspot.client.put(
        f"{BASE}/_sandbox/faults",
        data={"rate_limit_rate": 1, "retry_after_seconds": 7},
        content_type="application/json",
        headers={"Authorization": f"Bearer {hubspot.token}"},
    )
    assert switched.json()["rate_limit_rate"] == 1

    limited = hubspot.get("/crm/v3/objects/deals")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "7"
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert all(name in limited for name in RATE_HEADERS)
    assert bystander.get("/crm/v3/objects/deals").status_code == 200

    hubspot.client.put(
        f"{BASE}/_sandbox/faults",
        data={"rate_limit_rate": 0, "server_error_rate": 1, "server_error_status": 503},
        content_type="application/json",
        headers={"Authorization": f"Bearer {hubspot.token}"},
    )
    assert_hubspot_error(hubspot.get("/crm/v3/objects/deals"), 503, "INTERNAL_ERROR")

    reset = hubspot.client.delete(
        f"{BASE}/_sandbox/faults", headers={"Authorization": f"Bearer {hubspot.token}"}
    )
    assert reset.json()["server_error_rate"] == 0
    assert hubspot.get("/crm/v3/objects/deals").status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"rate_limit_rate": 2},
        {"server_error_rate": "half"},
        {"server_error_status": 404},
        {"retry_after_seconds": -1},
        {"latency_ms": -1},
        {"blackout": True},
    ],
)
def test_invalid_fault_settings_are_refused(hubspot, changes):
    response = hubspot.client.put(
        f"{BASE}/_sandbox/faults",
        data=changes,
        content_type="application/json",
        headers={"Authorization": f"Bearer {hubspot.token}"},
    )
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")


def test_faults_need_the_accounts_token(client, db):
    assert_hubspot_error(client.get(f"{BASE}/_sandbox/faults"), 401, "INVALID_AUTHENTICATION")


def test_unknown_paths_and_methods_answer_hubspots_404(hubspot):
    assert_hubspot_error(hubspot.get("/crm/v3/nothing/here"), 404, "OBJECT_NOT_FOUND")
    response = hubspot.client.delete(
        f"{BASE}/crm/v3/objects/deals", headers={"Authorization": f"Bearer {hubspot.token}"}
    )
    assert_hubspot_error(response, 404, "OBJECT_NOT_FOUND")
