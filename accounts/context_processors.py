"""Template context every tenant page shares."""

from accounts.selectors import organization_firs_setup_problem
from invoices.selectors import invoice_count_waiting_setup

WAITING_SHOWN_UP_TO = 100


def firs_setup_waiting(request) -> dict:
    """``firs_setup_waiting``: how many invoices of the working organization wait for its FIRS
    set-up and why, while any do (the layout shows it on every page)."""
    organization = getattr(request, "organization", None)
    if organization is None or not request.user.is_authenticated:
        return {}
    reason = organization_firs_setup_problem(organization=organization)
    if not reason:
        return {}
    count = invoice_count_waiting_setup(organization=organization, up_to=WAITING_SHOWN_UP_TO)
    if not count:
        return {}
    return {
        "firs_setup_waiting": {
            "count": min(count, WAITING_SHOWN_UP_TO),
            "more": count > WAITING_SHOWN_UP_TO,
            "reason": reason,
        }
    }
