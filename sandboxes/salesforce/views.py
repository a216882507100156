"""The Salesforce sandbox's REST views (API v62.0): SOQL queries and their locators, sObjects
created, read and updated, the ``updated`` list and ``limits``."""

from datetime import datetime

from django.http import HttpResponse, JsonResponse

from sandboxes.salesforce import server
from sandboxes.salesforce.api import SalesforceError, api

DEFAULT_BATCH = 2000


@api.endpoint("root", authenticated=False, counted=False, body=False)
def root(request):
    return JsonResponse({})


@api.endpoint("query", body=False)
def query(request, *, org):
    soql = request.GET.get("q", "")
    if not soql:
        raise server.malformed("q is required")
    return JsonResponse(server.query(org=org, soql=soql, batch_size=_batch_size(request)))


@api.endpoint("query", body=False)
def query_more(request, *, org, locator: str, offset: int):
    return JsonResponse(server.query_more(org=org, locator=locator, offset=offset))


@api.endpoint("sobjects/create")
def sobject_create(request, *, org, body, object_type: str):
    record = server.record_create(org=org, object_type=object_type, fields=body)
    return JsonResponse({"id": record.sf_id, "success": True, "errors": []}, status=201)


@api.endpoint("sobjects/record")
def sobject(request, *, org, body, object_type: str, sf_id: str):
    if request.method == "PATCH":
        server.record_update(org=org, object_type=object_type, sf_id=sf_id, fields=body)
        return HttpResponse(status=204)
    record = server.record_get(org, object_type, sf_id)
    fields = [name for name in request.GET.get("fields", "").split(",") if name]
    return JsonResponse(server.record_json(org, record, fields or None))


@api.endpoint("sobjects/updated", body=False)
def opportunities_updated(request, *, org):
    try:
        start = datetime.fromisoformat(request.GET["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(request.GET["end"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise SalesforceError("start and end must be ISO 8601 datetimes") from None
    return JsonResponse(server.updated_ids(org=org, start=start, end=end))


@api.endpoint("limits", body=False)
def limits(request, *, org):
    return JsonResponse({"DailyApiRequests": {"Max": org.api_max, "Remaining": org.api_max}})


def _batch_size(request) -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    for option in options.split(","):
        name, _, value = option.strip().partition("=")
        if name == "batchSize" and value.isdigit():
            # Salesforce pages at 200 or more; the sandbox takes any size so tests page small.
            return min(max(int(value), 1), 2000)
    return DEFAULT_BATCH
