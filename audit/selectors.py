"""Reading the audit trail, always of one organization."""

from audit.models import AuditEvent

PAGE_SIZE = 50


def audit_events_page(*, organization, before_id: int | None = None):
    """The organization's newest events (below ``before_id``) and the id the next page starts
    below (None on the last page). Keyset pages: no count, stable while events are added."""
    events = AuditEvent.objects.filter(organization=organization)
    if before_id is not None:
        events = events.filter(pk__lt=before_id)
    page = list(events.order_by("-id")[: PAGE_SIZE + 1])
    if len(page) > PAGE_SIZE:
        return page[:PAGE_SIZE], page[PAGE_SIZE - 1].pk
    return page, None
