"""Reading a platform's JSON strictly, for every mapper: each value is checked for its type and
form, and anything else is a MappingError that names the value's JSON path.

``path`` always names what is passed in: the container for the functions that take a
container and a key (the error then names ``path.key``, or the key alone when ``path`` is "",
the document itself), the value for those that take a value.
"""

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from integrations.base.errors import MappingError

INT64_MAX = 2**63 - 1
# Ids become database keys, in 255-character columns.
MAX_ID_LENGTH = 255


def json_body(body: bytes) -> object:
    """A delivery's JSON; bad UTF-8, NaN, Infinity and numbers out of range are refused."""
    try:
        return json.loads(
            bytes(body).decode("utf-8"),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except MappingError:
        raise
    except (TypeError, ValueError, RecursionError) as error:
        # ValueError covers bad UTF-8, bad JSON and integers past Python's digit limit.
        raise MappingError(f"The webhook body is not JSON: {shown(str(error))}") from None


def mapping(value: object, path: str) -> Mapping:
    """A JSON object."""
    if not isinstance(value, Mapping):
        raise MappingError(
            f"{path} is {'missing' if value is None else 'a ' + type(value).__name__}, "
            "not an object"
        )
    return value


def list_at(container: Mapping, key: str, *, path: str) -> list:
    """A JSON array; empty when absent or null."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{_at(path, key)} is a {type(value).__name__}, not a list")
    return value


def text_at(container: Mapping, key: str, *, path: str) -> str:
    """A JSON string; "" when absent or null."""
    value = container.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MappingError(f"{_at(path, key)} is a {type(value).__name__}, not text")
    return value


def identifier(container: Mapping, key: str, *, path: str, max_length: int = MAX_ID_LENGTH) -> str:
    """A required id: a non-blank string no longer than ``max_length``."""
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{_at(path, key)} is {'missing' if value is None else shown(value)}")
    if len(value) > max_length:
        raise MappingError(f"{_at(path, key)} is {len(value)} characters long; not an id")
    return value


def whole_number(container: Mapping, key: str, *, path: str) -> int:
    """A required JSON integer from 0 to the int64 maximum (true and false are not numbers)."""
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        found = "missing" if value is None else shown(value)
        raise MappingError(f"{_at(path, key)} is {found}, not a whole number")
    if not 0 <= value <= INT64_MAX:
        raise MappingError(f"{_at(path, key)} is outside 0 to {INT64_MAX}")
    return value


def decimal_text(value: object, *, path: str, pattern: re.Pattern, like: str) -> Decimal:
    """An exact number sent as a string (never a float) that matches ``pattern`` in full;
    ``like`` shows the form expected, e.g. "a decimal string like '1.5'"."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise MappingError(f"{path} is {shown(value)}, not {like}")
    return Decimal(value)


def timestamp(text: str, *, path: str, standard: str = "ISO 8601") -> datetime:
    """A timestamp with a date, a time and an offset ("2020-05-18T16:30:49.614Z")."""
    try:
        moment = datetime.fromisoformat(text) if "T" in text else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MappingError(f"{path} is {shown(text)}, not an {standard} timestamp with an offset")
    return moment


def shown(value: object) -> str:
    """A value for an error message: short, and never a huge int's digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "a number"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a huge int or a deep structure inside
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _refuse_constant(name: str) -> float:
    raise MappingError(f"The webhook body holds {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise MappingError("The webhook body holds a number too large for a float")
    return number
