from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def totp_pending_get(*, user: User, device_id: int | None) -> TOTPDevice | None:
    """The user's enrolment still waiting for its first code, if that is ``device_id``."""
    if not device_id:
        return None
    return TOTPDevice.objects.filter(user=user, pk=device_id, confirmed=False).first()
