"""CSV files streamed to the browser row by row, so an export of any size holds one chunk of
rows in memory: rows come from ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on
PostgreSQL) and each leaves as soon as it is written."""

import csv
import datetime
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone

# Rows fetched from the database cursor at a time.
EXPORT_CHUNK_SIZE = 2000
# A spreadsheet runs a cell that starts with one of these as a formula; text from a platform
# (a customer's name, a deal's title) must not become one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def export_rows(rows: QuerySet, *, fields: list[str]) -> Iterator[tuple]:
    """``fields`` of ``rows`` read through a server-side cursor, ``EXPORT_CHUNK_SIZE`` at a time,
    datetimes in Lagos time."""
    for row in rows.values_list(*fields).iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield tuple(
            timezone.localtime(value).isoformat(timespec="seconds")
            if isinstance(value, datetime.datetime)
            else value
            for value in row
        )


class _Echo:
    """A file-like object whose write hands the written line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return f"'{value}"
    return "" if value is None else value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    # The byte-order mark tells spreadsheet programs the file is UTF-8 (names, the ₦ sign).
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable]):
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_filename(noun: str, first_day=None, last_day=None) -> str:
    """``noun``, then the dates the export covers (either may be unset), as a file name."""
    days = "-".join(f"{day:%Y%m%d}" for day in (first_day, last_day) if day)
    return f"{noun}-{days}.csv" if days else f"{noun}.csv"


def csv_filters_refused(form) -> HttpResponseBadRequest:
    """400 naming each filter that is not valid: an export never silently drops a filter."""
    problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
    return HttpResponseBadRequest(
        f"The export's filters are not valid: {problems}", content_type="text/plain"
    )
