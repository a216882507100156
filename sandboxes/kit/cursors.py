"""Signed keyset cursors for every sandbox's lists.

Keyset, not offset: a row that changes while a client pages moves in the sort order but does not
shift the rows after the cursor, so none is skipped; the id breaks ties. The cursor is the signed
(sort value, id) of the page's last row with a fingerprint of the query it was made for, so an
altered cursor, or one sent with another query, is refused.
"""

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from django.core import signing
from django.db.models import Q


def fingerprint(value: object) -> str:
    """A digest of a JSON-able value, the same for equal values whatever their key order."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def keyset_page(
    rows,
    *,
    sort_field: str,
    id_field: str,
    descending: bool,
    limit: int,
    cursor: object,
    query: object,
    salt: str,
    invalid: Callable[[], Exception],
) -> tuple[list, str | None]:
    """The page of ``rows`` after the cursor's (sort value, id), and the next page's cursor if
    there is one. ``sort_field`` holds datetimes; ``query`` is what the cursor is bound to (the
    endpoint and its filters); ``invalid()`` is the platform's error for a cursor refused."""
    bound_to = fingerprint(query)
    if cursor is not None:
        after_value, after_id = _cursor_read(cursor, bound_to=bound_to, salt=salt, invalid=invalid)
        beyond = "lt" if descending else "gt"
        rows = rows.filter(
            Q(**{f"{sort_field}__{beyond}": after_value})
            | Q(**{sort_field: after_value, f"{id_field}__{beyond}": after_id})
        )
    prefix = "-" if descending else ""
    page = list(rows.order_by(f"{prefix}{sort_field}", f"{prefix}{id_field}")[: limit + 1])
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    signed = signing.dumps(
        [getattr(last, sort_field).isoformat(), getattr(last, id_field), bound_to], salt=salt
    )
    return page[:limit], base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


def _cursor_read(cursor: object, *, bound_to: str, salt: str, invalid) -> tuple[datetime, str]:
    if not isinstance(cursor, str) or not cursor.isascii():
        raise invalid()
    try:
        signed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value, row_id, made_for = signing.loads(signed, salt=salt)
        after = datetime.fromisoformat(value)
    except (ValueError, TypeError, signing.BadSignature):
        raise invalid() from None
    if made_for != bound_to:
        raise invalid()
    return after, row_id
