"""The strict JSON readers every mapper shares: each failure names the value's JSON path."""

import re
from decimal import Decimal

import pytest

from integrations.base.errors import MappingError
from integrations.base.parsing import (
    INT64_MAX,
    decimal_text,
    identifier,
    json_body,
    list_at,
    mapping,
    shown,
    text_at,
    timestamp,
    whole_number,
)

QUANTITY = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda: mapping([], "order"), r"^order is a list, not an object$"),
        (lambda: mapping(None, "order"), r"^order is missing, not an object$"),
        (lambda: list_at({"items": {}}, "items", path="order"), r"^order\.items is a dict"),
        (lambda: text_at({"name": 5}, "name", path="order"), r"^order\.name is a int, not text$"),
        (lambda: identifier({}, "id", path="order"), r"^order\.id is missing$"),
        (lambda: identifier({"id": "  "}, "id", path="order"), r"^order\.id is '  '$"),
        (lambda: identifier({"id": 7}, "id", path=""), r"^id is a number$"),
        (lambda: identifier({"id": "x" * 65}, "id", path="o", max_length=64), "65 characters"),
        (lambda: whole_number({"n": True}, "n", path="e"), r"^e\.n is True, not a whole number$"),
        (lambda: whole_number({"n": "5"}, "n", path="e"), r"^e\.n is '5', not a whole number$"),
        (lambda: whole_number({"n": -1}, "n", path="e"), r"^e\.n is outside 0 to"),
        (lambda: whole_number({"n": INT64_MAX + 1}, "n", path="e"), r"^e\.n is outside 0 to"),
        (
            lambda: decimal_text(1.5, path="line.quantity", pattern=QUANTITY, like="a string"),
            r"^line\.quantity is 1\.5, not a string$",
        ),
        (
            lambda: decimal_text("1e3", path="q", pattern=QUANTITY, like="a string"),
            r"^q is '1e3', not a string$",
        ),
        (lambda: timestamp("2026-01-15", path="t"), r"^t is '2026-01-15', not an ISO 8601"),
        (
            lambda: timestamp("2026-01-15T10:00:00", path="t", standard="RFC 3339"),
            "not an RFC 3339 timestamp with an offset",
        ),
        (lambda: json_body(b'{"a": NaN}'), "holds NaN"),
        (lambda: json_body(b'{"a": 1e400}'), "too large for a float"),
        (lambda: json_body(b"\xff"), "not JSON"),
        (lambda: json_body(b"[" * 100_000), "not JSON"),
    ],
)
def test_malformed_values_are_refused_naming_their_path(read, message):
    with pytest.raises(MappingError, match=message):
        read()


def test_well_formed_values_are_read():
    assert list_at({}, "items", path="order") == []
    assert text_at({"name": None}, "name", path="order") == ""
    assert identifier({"id": "A1"}, "id", path="order") == "A1"
    assert whole_number({"n": INT64_MAX}, "n", path="e") == INT64_MAX
    assert decimal_text("1.25", path="q", pattern=QUANTITY, like="") == Decimal("1.25")
    assert timestamp("2026-01-15T10:00:00Z", path="t").utcoffset().total_seconds() == 0
    assert json_body(b'{"amount": 1.5}') == {"amount": 1.5}


def test_values_in_messages_are_short_and_never_a_huge_numbers_digits():
    assert shown(10**5000) == "a number"
    assert shown(False) == "False"
    assert shown("x" * 100) == "'" + "x" * 56 + "..."
