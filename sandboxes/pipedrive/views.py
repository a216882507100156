"""The Pipedrive sandbox's views: each reads its request, makes one call into ``server`` and
answers in Pipedrive's envelope (the kit's endpoint decorator authenticates, counts the burst
window and applies faults first)."""

from django.http import JsonResponse

from sandboxes.kit.endpoints import query_params
from sandboxes.pipedrive import server
from sandboxes.pipedrive.api import PipedriveError, api
from sandboxes.pipedrive.models import PipedriveSandboxRecord, PipedriveSandboxWebhook
from sandboxes.pipedrive.server import Kind


def _data(value, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": True, "data": value}, status=status)


def _page(company, kind: str, request, *, path: str, **filters) -> JsonResponse:
    return JsonResponse(
        server.records_page(
            company=company, kind=kind, query=query_params(request), path=path, **filters
        )
    )


@api.endpoint("users", body=False)
def user_me(request, *, company):
    return _data(
        {
            "id": company.user_id,
            "company_id": company.company_id,
            "company_domain": company.domain,
            "name": "Sandbox user",
        }
    )


@api.endpoint("deals")
def deals(request, *, company, body):
    if request.method == "POST":
        return _data(server.deal_json(server.deal_create(company=company, body=body)), 201)
    return _page(company, Kind.DEAL, request, path="deals", is_archived=False)


@api.endpoint("deals", body=False)
def deals_archived(request, *, company):
    return _page(company, Kind.DEAL, request, path="archived", is_archived=True)


@api.endpoint("deal")
def deal(request, *, company, body, deal_id: int):
    if request.method == "PATCH":
        record, _previous = server.deal_update(company=company, deal_id=deal_id, body=body)
    else:
        record = server.record_get(company=company, kind=Kind.DEAL, record_id=deal_id)
    return _data(server.deal_json(record))


@api.endpoint("deal_products")
def deal_products(request, *, company, body, deal_id: int):
    if request.method == "POST":
        line = server.deal_product_add(company=company, deal_id=deal_id, body=body)
        return _data(server.record_json(line), status=201)
    server.record_get(company=company, kind=Kind.DEAL, record_id=deal_id)
    query = {**query_params(request), "deal_ids": str(deal_id)}
    return JsonResponse(
        server.records_page(company=company, kind=Kind.DEAL_PRODUCT, query=query, path="products")
    )


@api.endpoint("deal_products", body=False)
def deals_products(request, *, company):
    if not request.GET.get("deal_ids"):
        raise PipedriveError("deal_ids is required")
    return _page(company, Kind.DEAL_PRODUCT, request, path="products")


def _parties(kind: str, operation: str):
    @api.endpoint(operation)
    def view(request, *, company, body):
        if request.method == "POST":
            record = server.party_create(company=company, kind=kind, body=body)
            return _data(server.record_json(record), status=201)
        return _page(company, kind, request, path=kind)

    return view


persons = _parties(Kind.PERSON, "persons")
organizations = _parties(Kind.ORGANIZATION, "organizations")


@api.endpoint("webhooks")
def webhooks(request, *, company, body):
    if request.method == "POST":
        return _data(server.webhook_json(server.webhook_create(company=company, body=body)), 201)
    return _data([server.webhook_json(hook) for hook in company.webhooks.order_by("pk")])


@api.endpoint("webhooks", body=False)
def webhook(request, *, company, webhook_id: int):
    deleted, _ = PipedriveSandboxWebhook.objects.filter(company=company, pk=webhook_id).delete()
    if not deleted:
        raise PipedriveError("Webhook not found", status=404)
    return _data({"id": webhook_id})


@api.endpoint("notes")
def notes(request, *, company, body):
    if request.method == "POST":
        return _data(server.record_json(server.note_create(company=company, body=body)), 201)
    rows = PipedriveSandboxRecord.objects.filter(company=company, kind=Kind.NOTE)
    if request.GET.get("deal_id", "").isdigit():
        rows = rows.filter(deal_id=int(request.GET["deal_id"]))
    return _data([server.record_json(note) for note in rows.order_by("pk")])


@api.endpoint(authenticated=False, faulted=False, counted=False, body=False)
def root(request):
    return api.not_found(request)
