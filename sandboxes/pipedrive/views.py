"""The Pipedrive sandbox's views: each reads its request, makes one call into ``server`` and
answers in Pipedrive's envelope."""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandboxes.pipedrive import server
from sandboxes.pipedrive.models import PipedriveSandboxRecord, PipedriveSandboxWebhook
from sandboxes.pipedrive.server import Kind, PipedriveError


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise PipedriveError(400, "The body is not JSON") from None
    if not isinstance(body, dict):
        raise PipedriveError(400, "The body must be a JSON object")
    return body


def _data(value, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": True, "data": value}, status=status)


# --- OAuth ---------------------------------------------------------------------------------


@csrf_exempt
def authorize(request):
    try:
        return server.redirect(server.sandbox_authorize(query=request.GET.dict()))
    except PipedriveError as error:
        return error.response()


@csrf_exempt
def token(request):
    try:
        return JsonResponse(
            server.sandbox_token_grant(
                authorization=request.headers.get("Authorization", ""),
                form=request.POST.dict(),
                api_domain=server.api_root(request),
            )
        )
    except PipedriveError as error:
        return error.response()


@csrf_exempt
def revoke(request):
    try:
        server.sandbox_token_revoke(
            authorization=request.headers.get("Authorization", ""), form=request.POST.dict()
        )
    except PipedriveError as error:
        return error.response()
    return server.empty()


# --- API -----------------------------------------------------------------------------------


def user_me(request, *, company):
    return _data(
        {
            "id": company.user_id,
            "company_id": company.company_id,
            "company_domain": company.domain,
            "name": "Sandbox user",
        }
    )


def deals(request, *, company):
    if request.method == "POST":
        return _data(server.deal_json(server.deal_create(company=company, body=_body(request))))
    return JsonResponse(
        server.records_page(
            company=company,
            kind=Kind.DEAL,
            query=request.GET.dict(),
            path="deals",
            is_archived=False,
        )
    )


def deals_archived(request, *, company):
    return JsonResponse(
        server.records_page(
            company=company,
            kind=Kind.DEAL,
            query=request.GET.dict(),
            path="archived",
            is_archived=True,
        )
    )


def deal(request, *, company, deal_id: int):
    if request.method == "PATCH":
        record, _previous = server.deal_update(
            company=company, deal_id=deal_id, body=_body(request)
        )
    else:
        record = server._record(company, Kind.DEAL, deal_id)
    return _data(server.deal_json(record))


def deal_products(request, *, company, deal_id: int):
    if request.method == "POST":
        line = server.deal_product_add(company=company, deal_id=deal_id, body=_body(request))
        return _data(server.record_json(line), status=201)
    server._record(company, Kind.DEAL, deal_id)
    query = {**request.GET.dict(), "deal_ids": str(deal_id)}
    return JsonResponse(
        server.records_page(company=company, kind=Kind.DEAL_PRODUCT, query=query, path="products")
    )


def deals_products(request, *, company):
    if not request.GET.get("deal_ids"):
        raise PipedriveError(400, "deal_ids is required")
    return JsonResponse(
        server.records_page(
            company=company, kind=Kind.DEAL_PRODUCT, query=request.GET.dict(), path="products"
        )
    )


def _parties(kind: str):
    def view(request, *, company):
        if request.method == "POST":
            record = server.party_create(company=company, kind=kind, body=_body(request))
            return _data(server.record_json(record), status=201)
        return JsonResponse(
            server.records_page(company=company, kind=kind, query=request.GET.dict(), path=kind)
        )

    return view


persons = _parties(Kind.PERSON)
organizations = _parties(Kind.ORGANIZATION)


def webhooks(request, *, company):
    if request.method == "POST":
        hook = server.webhook_create(company=company, body=_body(request))
        return _data(server.webhook_json(hook), status=201)
    return _data([server.webhook_json(hook) for hook in company.webhooks.order_by("pk")])


def webhook(request, *, company, webhook_id: int):
    deleted, _ = PipedriveSandboxWebhook.objects.filter(company=company, pk=webhook_id).delete()
    if not deleted:
        raise PipedriveError(404, "Webhook not found")
    return _data({"id": webhook_id})


def notes(request, *, company):
    if request.method == "POST":
        note = server.note_create(company=company, body=_body(request))
        return _data(server.record_json(note), status=201)
    rows = PipedriveSandboxRecord.objects.filter(company=company, kind=Kind.NOTE)
    if request.GET.get("deal_id", "").isdigit():
        rows = rows.filter(deal_id=int(request.GET["deal_id"]))
    return _data([server.record_json(note) for note in rows.order_by("pk")])


def faults(request, *, company):
    if request.method == "PUT":
        return JsonResponse(server.faults_change(company=company, changes=_body(request)))
    if request.method == "DELETE":
        return JsonResponse(server.faults_clear(company=company))
    return JsonResponse(server.faults_show(company=company))
