"""An admin list's count that never scans a whole huge (partitioned) table: exact up to
BOUNDED_COUNT rows, "about N" or "more than N" beyond (templates/admin/pagination.html shows
``count_shown``)."""

from django.core.paginator import Paginator
from django.db import connection as db_connection
from django.utils.functional import cached_property

# Up to this many rows a list shows the exact count; beyond it "about N" (unfiltered, the
# planner's estimate) or "more than N" (filtered, where the count stops).
BOUNDED_COUNT = 10_000


class BoundedCountPaginator(Paginator):
    """No COUNT(*) over a huge table, which would scan all of it. Unfiltered, the planner's
    estimate (summed over a partitioned table's partitions) when it is above BOUNDED_COUNT,
    else an exact count (an estimate of a small or unanalysed table can be 0 above rows);
    filtered, a count that stops at BOUNDED_COUNT rows. ``count_shown`` says which it is."""

    @cached_property
    def count(self):
        return self._counted[0]

    @cached_property
    def count_shown(self) -> str:
        """The count as the list says it: "8", "about 1,200,000" or "more than 10,000"."""
        count, kind = self._counted
        if kind == "estimate":
            return f"about {count:,}"
        if kind == "capped":
            return f"more than {count:,}"
        return f"{count:,}"

    @cached_property
    def _counted(self) -> tuple[int, str]:
        query = self.object_list.query
        if not query.where:
            estimate = self._estimate(self.object_list.model._meta.db_table)
            if estimate > BOUNDED_COUNT:
                return estimate, "estimate"
        counted = self.object_list.order_by()[: BOUNDED_COUNT + 1].count()
        if counted > BOUNDED_COUNT:
            return BOUNDED_COUNT, "capped"
        return counted, "exact"

    @staticmethod
    def _estimate(table: str) -> int:
        with db_connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
                FROM pg_class c
                WHERE c.oid = %s::regclass
                   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)
                """,
                [table, table],
            )
            return int(cursor.fetchone()[0])
