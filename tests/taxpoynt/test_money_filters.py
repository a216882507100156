"""The money and time filters every page shows amounts and times with."""

import datetime
from decimal import Decimal

import pytest

from taxpoynt.templatetags.money import money, wat


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("9315"), "NGN", "₦9,315.00"),
        (Decimal("9315.005"), "NGN", "₦9,315.01"),
        (Decimal("1234567.5"), "ngn", "₦1,234,567.50"),
        (Decimal("-1200"), "NGN", "\N{MINUS SIGN}₦1,200.00"),
        (Decimal("0"), "NGN", "₦0.00"),
        (Decimal("1500.1"), "USD", "$1,500.10"),
        (Decimal("99"), "GHS", "GHS 99.00"),
        ("250.4", "NGN", "₦250.40"),
        (None, "NGN", ""),
    ],
)
def test_money(amount, currency, shown):
    assert money(amount, currency) == shown


def test_wat_shows_lagos_time_and_says_so():
    moment = datetime.datetime(2026, 12, 3, 13, 5, tzinfo=datetime.UTC)
    assert wat(moment) == "3 Dec 2026 14:05 WAT"
    assert wat(moment, "H:i:s") == "14:05:00 WAT"
    assert wat(datetime.time(9, 30), "H:i") == "09:30 WAT"
    assert wat(None) == ""
