"""Toast orders for tests, priced as the sandbox (and Toast) prices them."""

import uuid

from sandboxes.toast.pricing import order_priced

NOW = "2026-11-22T18:30:01.512+0000"


def toast_order(*checks: dict, now: str = NOW, **order) -> dict:
    """An order of ``checks`` (as a till posts them), with every figure Toast computes."""
    return order_priced(
        {"checks": list(checks), **order},
        guid=str(uuid.uuid4()),
        now_text=now,
        business_date=20261122,
    )


def paid_check(*selections: dict, tip: float = 0, **check) -> dict:
    return {
        "selections": list(selections) or [{"displayName": "Jollof Rice", "price": 2500}],
        "payments": [{"type": "CREDIT", "tipAmount": tip}],
        **check,
    }
