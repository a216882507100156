"""The tenant's Activity page: the organization's audit trail, for its owners."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Membership
from accounts.views import tenant_page
from audit import selectors


@tenant_page
@require_GET
def audit_event_list(request):
    if request.membership is None or request.membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners see the organization's activity.")
    before = request.GET.get("before", "")
    events, next_before = selectors.audit_events_page(
        organization=request.organization, before_id=int(before) if before.isdigit() else None
    )
    return render(request, "audit/events.html", {"events": events, "next_before": next_before})
