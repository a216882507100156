import hmac

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from taxpoynt.ops.selectors import health_report


@never_cache
@require_GET
def health(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@never_cache
@require_GET
def metrics(request):
    """Prometheus metrics, for a scraper holding METRICS_TOKEN (as a bearer token) or a
    superuser: they tell every tenant's sales volume and failures, more than a support operator
    (limited to some organizations) may see. Closed when no token is set."""
    if not (request.user.is_authenticated and request.user.is_superuser) and not _bearer_matches(
        request.headers.get("Authorization", ""), settings.METRICS_TOKEN
    ):
        response = JsonResponse(
            {"error": "metrics need the bearer token set as METRICS_TOKEN, or a superuser login"},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, presented = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(presented, token)
