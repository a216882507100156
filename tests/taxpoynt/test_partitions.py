"""Monthly partitions: rows route by month, a far-future row lands in DEFAULT, and maintenance
then creates its month and moves the row there."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection

from taxpoynt.lib.partitions import Month, monthly_partitions_ensure

TABLE = "partition_probe"


@pytest.fixture
def partitioned_table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {TABLE} (id bigint NOT NULL, happened_at timestamptz NOT NULL, "
            "PRIMARY KEY (id, happened_at)) PARTITION BY RANGE (happened_at)"
        )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    return TABLE


def _partition_of(row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


def _insert(row_id: int, moment: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} VALUES (%s, %s)", [row_id, moment])


def test_month_arithmetic_crosses_years():
    assert Month(2026, 11).plus(3) == Month(2027, 2)
    assert Month(2026, 1).plus(-1) == Month(2025, 12)
    assert Month(2026, 12).end == datetime(2027, 1, 1, tzinfo=UTC)


def test_rows_route_by_month_and_default_catches_the_far_future(partitioned_table):
    created = monthly_partitions_ensure(
        table=TABLE, column="happened_at", months_ahead=3, today=date(2026, 11, 23)
    )
    assert created == [
        f"{TABLE}_p202611",
        f"{TABLE}_p202612",
        f"{TABLE}_p202701",
        f"{TABLE}_p202702",
    ]

    _insert(1, datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    _insert(2, datetime(2026, 12, 1, tzinfo=UTC))
    _insert(3, datetime(2027, 1, 15, tzinfo=UTC))
    _insert(4, datetime(2030, 6, 1, 12, tzinfo=UTC))
    assert [_partition_of(i) for i in (1, 2, 3, 4)] == [
        f"{TABLE}_p202611",
        f"{TABLE}_p202612",
        f"{TABLE}_p202701",
        f"{TABLE}_default",
    ]

    # Maintenance creates the far-future month and moves the row out of DEFAULT.
    assert monthly_partitions_ensure(
        table=TABLE, column="happened_at", months_ahead=3, today=date(2026, 11, 23)
    ) == [f"{TABLE}_p203006"]
    assert _partition_of(4) == f"{TABLE}_p203006"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        assert cursor.fetchone()[0] == 4

    # Running again changes nothing.
    assert (
        monthly_partitions_ensure(
            table=TABLE, column="happened_at", months_ahead=3, today=date(2026, 11, 23)
        )
        == []
    )
