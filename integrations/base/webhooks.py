"""The two webhook endpoints, for every family and platform.

``/webhooks/<family>/<platform>/<connection id>/``: a tenant's own app, signed with the secret
on the connection. ``/webhooks/<family>/<platform>/``: our platform app's subscription, signed
with the app's key and routed by the account id in each event.
``/webhooks/<family>/<platform>/<connection id>/<secret>/``: a platform that signs nothing, the
secret in the path. A 2xx means the events are stored.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.base import services
from integrations.base.connectors import Capability


def _delivery(request, *, family: str, platform: str) -> services.Delivery:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    # Read one byte past the cap: enough to know it is too big, whatever Content-Length says.
    body = request.read(limit + 1)
    return services.Delivery(
        family=family,
        platform=platform,
        headers=request.headers,
        body=body[:limit],
        method=request.method,
        uri=request.build_absolute_uri(),
        body_truncated=len(body) > limit,
    )


def _answer(accept) -> JsonResponse:
    try:
        accepted = accept()
    except services.DeliveryRefused as refused:
        return JsonResponse({"error": refused.reason}, status=refused.status)
    return JsonResponse({"stored": accepted.stored, "duplicates": accepted.duplicates})


@csrf_exempt
@require_POST
def connection_webhook(request, family: str, platform: str, connection_id):
    delivery = _delivery(request, family=family, platform=platform)
    return _answer(
        lambda: services.delivery_accept_for_connection(
            delivery=delivery, connection_id=connection_id
        )
    )


@csrf_exempt
@require_POST
def secret_url_webhook(request, family: str, platform: str, connection_id, secret: str):
    delivery = _delivery(request, family=family, platform=platform)
    try:
        accepted = services.delivery_accept_by_url_secret(
            delivery=delivery, connection_id=connection_id, secret=secret
        )
    except services.DeliveryRefused as refused:
        own = _platform_answer(platform, family=family, accepted=False, reason=refused.reason)
        if own is None:
            return JsonResponse({"error": refused.reason}, status=refused.status)
        return HttpResponse(own[1], content_type=own[0], status=refused.status)
    own = _platform_answer(platform, family=family, accepted=True)
    if own is None:
        return JsonResponse({"stored": accepted.stored, "duplicates": accepted.duplicates})
    return HttpResponse(own[1], content_type=own[0])


def _platform_answer(platform: str, *, family: str, **outcome) -> tuple[str, bytes] | None:
    """The platform's own answer body (``SecretUrlWebhooks.delivery_answer``), if it has one."""
    try:
        connector = services.delivery_connector_class(
            family=family, platform=platform, capabilities=(Capability.SECRET_URL_WEBHOOKS,)
        )
    except services.DeliveryRefused:
        return None
    return connector.delivery_answer(**outcome)


@csrf_exempt
@require_POST
def app_webhook(request, family: str, platform: str):
    delivery = _delivery(request, family=family, platform=platform)
    return _answer(lambda: services.delivery_accept_for_app(delivery=delivery))
