"""Monthly range partitions on PostgreSQL, kept ahead of time by a maintenance task.

A partitioned table keeps a DEFAULT partition so no insert ever fails for lack of a month. When a
month's partition is created later, rows that already landed in DEFAULT for that month move into
it in the same transaction (PostgreSQL refuses to create a partition whose range the DEFAULT
partition still holds rows for).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction
from psycopg import sql as psycopg_sql


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: date | datetime) -> "Month":
        return cls(moment.year, moment.month)

    def plus(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    def partition_name(self, table: str) -> str:
        return f"{table}_p{self.year:04d}{self.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def monthly_partitions_ensure(
    *, table: str, column: str, months_ahead: int = 3, today: date | None = None
) -> list[str]:
    """Create the partitions for this month and ``months_ahead`` more, and for every month whose
    rows sit in the DEFAULT partition. Returns the names created; safe to run any time."""
    current = Month.of(today or datetime.now(UTC))
    wanted = {current.plus(offset) for offset in range(months_ahead + 1)}
    wanted |= _months_in_default(table=table, column=column)
    existing = _partition_names(table)
    created = []
    for month in sorted(wanted, key=lambda m: (m.year, m.month)):
        name = month.partition_name(table)
        if name not in existing:
            _partition_create(table=table, column=column, month=month)
            created.append(name)
    return created


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _partition_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE parent.relname = %s",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def _months_in_default(*, table: str, column: str) -> set[Month]:
    default = default_partition_name(table)
    if default not in _partition_names(table):
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', {_quote(column)} AT TIME ZONE 'UTC') "  # noqa: S608
            f"FROM {_quote(default)}"
        )
        return {Month.of(row[0]) for row in cursor.fetchall()}


def _partition_create(*, table: str, column: str, month: Month) -> None:
    parent, default = _quote(table), _quote(default_partition_name(table))
    name, col = _quote(month.partition_name(table)), _quote(column)
    bounds = [month.start, month.end]
    with transaction.atomic(), connection.cursor() as cursor:
        # Identifiers come from code, never from input.
        cursor.execute(f"LOCK TABLE {parent} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {col} >= %s AND {col} < %s)",  # noqa: S608
            bounds,
        )
        (has_rows,) = cursor.fetchone()
        if has_rows:
            cursor.execute(f"ALTER TABLE {parent} DETACH PARTITION {default}")
        # DDL takes no bound parameters: the bounds are written in as quoted literals.
        low, high = (psycopg_sql.Literal(bound).as_string() for bound in bounds)
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {parent} FOR VALUES FROM ({low}) TO ({high})"
        )
        if has_rows:
            cursor.execute(
                f"INSERT INTO {name} SELECT * FROM {default} "  # noqa: S608
                f"WHERE {col} >= %s AND {col} < %s",
                bounds,
            )
            cursor.execute(f"DELETE FROM {default} WHERE {col} >= %s AND {col} < %s", bounds)  # noqa: S608
            cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {default} DEFAULT")
