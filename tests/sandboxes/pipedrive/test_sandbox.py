"""The Pipedrive sandbox behaves as Pipedrive does where a client can tell: OAuth codes used
once and a refresh that keeps its refresh token, the 2-second burst window in headers and 429s,
cursor lists with inclusive ``updated_since`` and archived deals apart, a deal-wide tax method,
and webhooks v2 delivered with the subscription's credentials, retried and banned as Pipedrive
retries and bans them."""

import base64
import json
import time
from types import SimpleNamespace

import pytest
import requests
import responses

from integrations.base.models import InboundEvent
from sandboxes.kit import rates
from sandboxes.pipedrive import server
from sandboxes.pipedrive.models import PipedriveSandboxRecord, PipedriveSandboxWebhook
from sandboxes.pipedrive.server import sandbox_company_create

pytestmark = pytest.mark.django_db
ROOT = "/sandbox/pipedrive"
RECEIVER = "https://receiver.example/hooks/pd/"


@pytest.fixture
def company():
    return sandbox_company_create(redirect_uri="https://app.example/callback/")


def _api(client, company, method: str, path: str, body=None, **query):
    call = getattr(client, method)
    kwargs = {"headers": {"x-api-token": company.api_token}}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    if query:
        path = f"{path}?" + "&".join(f"{key}={value}" for key, value in query.items())
    return call(f"{ROOT}{path}", **kwargs)


def _basic(company) -> str:
    pair = f"{company.client_id}:{company.client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def test_a_code_is_used_once_and_a_refresh_answers_the_same_refresh_token(client, company):
    consent = client.get(
        f"{ROOT}/oauth/authorize",
        {"client_id": company.client_id, "redirect_uri": company.redirect_uri, "state": "s1"},
    )
    code = consent["Location"].split("code=")[1].split("&")[0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": company.redirect_uri}
    auth = {"Authorization": _basic(company)}

    first = client.post(f"{ROOT}/oauth/token", form, headers=auth).json()
    again = client.post(f"{ROOT}/oauth/token", form, headers=auth)
    refreshed = client.post(
        f"{ROOT}/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=auth,
    ).json()
    wrong_client = client.post(f"{ROOT}/oauth/token", form, headers={"Authorization": "Basic eDp5"})

    assert first["api_domain"] == f"http://testserver{ROOT}" and first["expires_in"] == 3599
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert refreshed["refresh_token"] == first["refresh_token"]
    assert refreshed["access_token"] != first["access_token"]
    assert wrong_client.status_code == 401
    client.post(f"{ROOT}/oauth/revoke", {"token": first["refresh_token"]}, headers=auth)
    me = client.get(
        f"{ROOT}/api/v1/users/me", headers={"Authorization": f"Bearer {refreshed['access_token']}"}
    )
    assert me.status_code == 401


def test_the_burst_window_is_in_every_answer_and_429s_past_its_limit(client, company, monkeypatch):
    company.burst_limit = 2
    company.save()
    # One fixed window for all three requests: a window boundary between them would reset it.
    monkeypatch.setattr(rates, "time", SimpleNamespace(time=lambda: 1_000_000.5))

    answers = [_api(client, company, "get", "/api/v1/users/me") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert [answer["x-ratelimit-remaining"] for answer in answers] == ["1", "0", "0"]
    assert answers[0]["x-ratelimit-limit"] == "2" and int(answers[0]["x-ratelimit-reset"]) >= 1
    assert answers[2].json()["errorCode"] == 429


def test_lists_page_by_cursor_with_archived_deals_apart(client, company):
    made = [
        _api(client, company, "post", "/api/v2/deals", {"title": f"Deal {n}"}).json()["data"]
        for n in range(5)
    ]
    _api(client, company, "patch", f"/api/v2/deals/{made[4]['id']}", {"is_archived": True})

    seen, cursor = [], None
    while True:
        query = {"limit": 2, "sort_by": "update_time", "updated_since": made[0]["add_time"]}
        answer = _api(
            client,
            company,
            "get",
            "/api/v2/deals",
            **query,
            **({"cursor": cursor} if cursor else {}),
        ).json()
        seen += [deal["id"] for deal in answer["data"]]
        cursor = answer["additional_data"]["next_cursor"]
        if cursor is None:
            break
    archived = _api(client, company, "get", "/api/v2/deals/archived").json()["data"]
    forged = _api(client, company, "get", "/api/v2/deals", cursor="bm90LWEtY3Vyc29y")

    assert sorted(seen) == sorted(deal["id"] for deal in made[:4])
    assert [deal["id"] for deal in archived] == [made[4]["id"]]
    assert forged.status_code == 400


def test_the_tax_method_is_the_deals_and_its_value_follows_its_products(client, company):
    deal = _api(client, company, "post", "/api/v2/deals", {"title": "Terminals"}).json()["data"]
    path = f"/api/v2/deals/{deal['id']}/products"
    first = {"item_price": 1000.0, "quantity": 2, "tax": 7.5, "tax_method": "exclusive"}
    _api(client, company, "post", path, first)
    _api(client, company, "post", path, {**first, "discount": 10, "tax_method": "inclusive"})

    products = _api(client, company, "get", path).json()["data"]
    value = _api(client, company, "get", f"/api/v2/deals/{deal['id']}").json()["data"]["value"]

    assert {product["tax_method"] for product in products} == {"inclusive"}
    assert [product["sum"] for product in products] == [2000.0, 1800.0]
    assert value == 3800.0


def _hook(company) -> PipedriveSandboxWebhook:
    return server.webhook_create(
        company=company,
        body={
            "subscription_url": RECEIVER,
            "event_action": "change",
            "event_object": "deal",
            "http_auth_user": "taxpoynt",
            "http_auth_password": "pw",
        },
    )


def _won(company):
    deal = server.deal_create(company=company, body={"title": "Won"}, announce=False)
    deal, previous = server.deal_update(
        company=company, deal_id=deal.pk, body={"status": "won"}, announce=False
    )
    return server.webhook_payload(company, "change", deal, previous=previous)


@responses.activate
def test_a_failed_delivery_is_tried_again_after_3_30_and_150_seconds(company):
    hook = _hook(company)
    responses.add(responses.POST, RECEIVER, status=500)
    waits = []

    assert server.webhook_deliver(hook.pk, _won(company), sleep=waits.append) is False

    assert waits == [0.0, 3.0, 30.0, 150.0]
    sent = [json.loads(call.request.body) for call in responses.calls]
    assert [body["meta"]["attempt"] for body in sent] == [1, 2, 3, 4]
    assert {body["previous"]["status"] for body in sent} == {"open"}
    assert (
        responses.calls[0].request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"taxpoynt:pw").decode()
    )


@responses.activate
def test_ten_failed_first_tries_ban_the_webhook_and_its_events_are_lost(company):
    hook = _hook(company)
    responses.add(responses.POST, RECEIVER, body=requests.ConnectionError())
    payload = _won(company)
    for _ in range(10):
        server.webhook_deliver(hook.pk, payload, sleep=lambda seconds: None)
    tried = len(responses.calls)

    assert server.webhook_deliver(hook.pk, payload, sleep=lambda seconds: None) is False

    hook.refresh_from_db()
    assert hook.banned_until is not None
    # Nine events tried four times; the tenth's first failure banned it, so no retries.
    assert len(responses.calls) == tried == 9 * 4 + 1


@pytest.mark.django_db(transaction=True)
def test_a_change_through_the_api_is_delivered_to_our_endpoint(live_server):
    from tests.integrations.crm.pipedrive.support import company_of, pipedrive_connection

    connection = pipedrive_connection(site_url=live_server.url)
    company = company_of(connection)
    session = requests.Session()
    session.headers["x-api-token"] = company.api_token
    base = connection.base_url
    deal = session.post(f"{base}/api/v2/deals", json={"title": "Live"}, timeout=10).json()["data"]

    session.patch(f"{base}/api/v2/deals/{deal['id']}", json={"status": "won"}, timeout=10)

    for _ in range(100):
        if InboundEvent.objects.filter(event_type="change.deal").exists():
            break
        time.sleep(0.1)
    event = InboundEvent.objects.get(event_type="change.deal")
    assert (event.object_id, event.payload["previous"]["status"]) == (str(deal["id"]), "open")
    assert InboundEvent.objects.filter(event_type="create.deal").exists()
    assert PipedriveSandboxRecord.objects.filter(pk=deal["id"], status="won").exists()


def test_faults_are_the_companys_and_answered_in_pipedrives_envelope(client, company):
    auth = {"x-api-token": company.api_token}
    switched = client.put(
        f"{ROOT}/_sandbox/faults",
        data=json.dumps({"server_error_rate": 1, "server_error_status": 502}),
        content_type="application/json",
        headers=auth,
    )
    other = sandbox_company_create(redirect_uri="https://app.example/callback/")

    faulted = _api(client, company, "get", "/api/v1/users/me")
    untouched = _api(client, other, "get", "/api/v1/users/me")

    assert switched.json()["server_error_rate"] == 1
    assert (faulted.status_code, faulted.json()["success"]) == (502, False)
    assert faulted["x-ratelimit-limit"] == str(company.burst_limit)
    assert untouched.status_code == 200
    client.delete(f"{ROOT}/_sandbox/faults", headers=auth)
    assert _api(client, company, "get", "/api/v1/users/me").status_code == 200
