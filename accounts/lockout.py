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
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Membership, User
from audit.models import AuditEvent
from audit.services import Action, audit_record


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


@receiver(user_locked_out, dispatch_uid="accounts.lockout.audit")
def lockout_record(sender, request, username, ip_address, **kwargs):
    """A lockout of an existing account goes in the audit trail, once per cool-off (axes repeats
    the signal on every attempt while locked), in each of the account's organizations so their
    owners see it. Unknown usernames are not recorded: a spray of made-up names would fill the
    trail with nobody's events."""
    user = User.objects.filter(username=username).first() if username else None
    if user is None:
        return
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    already = AuditEvent.objects.filter(
        action=Action.LOGIN_LOCKED_OUT, target_type="user", target_id=str(user.pk), at__gte=since
    )
    if already.exists():
        return
    organization_ids = list(
        Membership.objects.filter(user=user).values_list("organization_id", flat=True)
    )
    for organization_id in organization_ids or [None]:
        audit_record(
            action=Action.LOGIN_LOCKED_OUT,
            actor_label=username,
            organization=organization_id,
            target=user,
            changes={"ip_address": [None, ip_address], "path": [None, request.path]},
        )
