"""The API's pagination, shaped as ``{"results": [...], "next"}``. A module of its own: DRF loads
it while its generic views are still being defined, so it must import no more of DRF than this."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: no COUNT(*), stable under inserts, cheap on partitioned tables."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
