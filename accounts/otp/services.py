"""Second factor for staff: TOTP enrolment with one-time backup codes, and code checks."""

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.services import Action, audit_record

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """A fresh, unconfirmed authenticator secret. Any earlier unconfirmed one is dropped, so a
    secret shown once stops working when the page is opened again."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def totp_enrolment_confirm(
    *, user: User, device_id: int, token: str
) -> tuple[TOTPDevice, list[str]]:
    """Confirms the authenticator once it produced a valid code; answers it and the backup
    codes, which exist from now on and are shown this once. Raises ValidationError on a wrong
    code or an enrolment that is no longer pending."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, pk=device_id, confirmed=False)
            .first()
        )
        if device is None:
            raise ValidationError("This enrolment expired. Start again with the new code below.")
        if not device.verify_token(token):
            raise ValidationError("That code is not right. Enter the current code from the app.")
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        backup = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(settings.OTP_BACKUP_TOKENS)]
        StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
        audit_record(
            action=Action.MFA_ENROLLED,
            actor=user,
            target=device,
            changes={"backup_codes": [None, len(codes)]},
        )
    return device, codes


def otp_device_for_code(*, user: User, token: str):
    """The user's confirmed device that accepts this code (a backup code is used up), or None.
    Devices throttle their own repeated failures. Either outcome goes in the audit trail."""
    device = match_token(user, token.strip())
    audit_record(
        action=Action.MFA_VERIFIED if device is not None else Action.MFA_FAILED,
        actor=user,
        target=device,
        changes={"device": [None, device.name]} if device is not None else {},
    )
    return device


def totp_qr_data_uri(*, device: TOTPDevice) -> str:
    """The authenticator's provisioning URL as an SVG QR code in a data: URI."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def totp_secret_base32(*, device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()
