"""Login lockouts: django-axes counting per (username, IP), plus a cap per username over all IPs.

Axes records each failure on the (username, IP) row and locks that pair at
``AXES_FAILURE_LIMIT``. Spreading guesses over many addresses would escape that, so a username
whose failures from every address within the cool-off reach ``LOGIN_FAILURES_PER_ACCOUNT`` counts
as locked from everywhere. Unknown usernames are counted the same way, so a lockout tells an
attacker nothing about which accounts exist.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LoginLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        from_this_address = super().get_failures(request, credentials)
        if _account_failures(request, credentials) >= settings.LOGIN_FAILURES_PER_ACCOUNT:
            return max(from_this_address, settings.AXES_FAILURE_LIMIT)
        return from_this_address


def _account_failures(request, credentials: dict | None) -> int:
    username = get_client_username(request, credentials)
    if username is None:
        return 0
    total = AccessAttempt.objects.filter(
        username=username, attempt_time__gte=get_cool_off_threshold(request)
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return total or 0
