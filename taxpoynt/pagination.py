"""The API's pagination, shaped as ``{"results": [...], "next"}``. A module of its own: DRF loads
it while its generic views are still being defined, so it must import no more of DRF than this."""

import re

from rest_framework import exceptions, pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: no COUNT(*), stable under inserts, cheap on partitioned tables. A bad
    ``page_size`` or ``cursor`` is refused with 400 (not silently replaced by the default)."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["A whole number of 1 or more."]}
            )
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["Invalid cursor."]}
            ) from None
