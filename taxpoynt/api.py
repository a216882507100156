"""API conventions shared by every app: pagination shaped as ``{"results": [...], "next"}``."""

from django.http import Http404
from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: no COUNT(*), stable under inserts, cheap on partitioned tables."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500


class OrganizationContextMixin:
    """For tenant-scoped API views: ``self.organization`` is the caller's working organization.

    Clients in several organizations pick one with the ``X-Organization-Id`` header; naming an
    organization the caller does not belong to answers 404, as a missing one would.
    """

    organization_header = "HTTP_X_ORGANIZATION_ID"

    @property
    def organization(self):
        if not hasattr(self, "_organization"):
            from accounts.middleware import current_organization

            raw = self.request.META.get(self.organization_header)
            preferred = None
            if raw is not None:
                if not raw.isdigit():
                    raise Http404
                preferred = int(raw)
            organization = current_organization(self.request, preferred_id=preferred)
            if organization is None or (preferred is not None and organization.pk != preferred):
                raise Http404
            self._organization = organization
        return self._organization
