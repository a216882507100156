"""Money and time as a Nigerian owner reads them: ``{{ amount|money:currency }}`` gives
``₦9,315.00`` (a minus sign before the symbol when negative) and ``{{ moment|wat }}`` gives
``3 Dec 2026 14:05 WAT``.

Registered as the ``money`` library in the template settings: ``{% load money %}``.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import template
from django.utils import dateformat, timezone

register = template.Library()

LAGOS = ZoneInfo("Africa/Lagos")
# The symbols a Nigerian reader knows; other currencies show their ISO code before the amount.
CURRENCY_SYMBOLS = {"NGN": "₦", "USD": "$", "GBP": "£", "EUR": "€"}
MINUS_SIGN = "\N{MINUS SIGN}"
CENT = Decimal("0.01")


def money_format(amount, currency: str = "NGN") -> str:
    """``amount`` rounded half up to the cent, thousands separated, after its currency's symbol
    (or its code and a space); an empty string for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(amount)
    code = (currency or "NGN").upper()
    prefix = CURRENCY_SYMBOLS.get(code, f"{code} ")
    sign = MINUS_SIGN if value < 0 else ""
    return f"{sign}{prefix}{abs(value):,.2f}"


@register.filter
def money(amount, currency="NGN"):
    return money_format(amount, currency)


@register.filter
def wat(moment, format_string="j M Y H:i"):
    """A datetime in Lagos time, formatted by ``format_string`` (the ``date`` filter's format),
    with "WAT" after it; a date or time alone is formatted without the zone."""
    if moment in (None, ""):
        return ""
    if hasattr(moment, "tzinfo") and hasattr(moment, "date"):
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, LAGOS)
        return f"{dateformat.format(moment.astimezone(LAGOS), format_string)} WAT"
    if hasattr(moment, "hour"):
        return f"{dateformat.time_format(moment, format_string)} WAT"
    return dateformat.format(moment, format_string)
