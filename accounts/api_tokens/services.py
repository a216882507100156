"""Writes of API tokens: made (the token shown once), marked used, revoked."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.api_tokens.models import ApiToken
from accounts.api_tokens.selectors import api_token_digest, api_token_find, api_token_get_for_user
from accounts.models import User

TOKEN_BYTES = 32
PREFIX_LENGTH = 8
# last_used_at is for people reading the token list: a write per minute per token is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEMO_TOKEN_NAME = "Demo (make run)"  # noqa: S105 (a label, not a secret)


@dataclass(frozen=True)
class IssuedApiToken:
    """A new token and its secret, which exists only here: show it once, never store it."""

    token: ApiToken
    raw: str


def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> IssuedApiToken:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "A token must expire in the future."})
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=raw[:PREFIX_LENGTH],
        digest=api_token_digest(raw),
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return IssuedApiToken(token=token, raw=raw)


def api_token_mark_used(*, token: ApiToken, now: datetime) -> None:
    """Records the use at most once a minute, so that reading the API costs no write per call."""
    last = token.last_used_at
    if last is not None and now - last < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revokes one of ``user``'s tokens; another user's is DoesNotExist, as a missing one."""
    token = api_token_get_for_user(user=user, token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_tokens_revoke(*, token_ids: Iterable[int]) -> int:
    """Revokes the given tokens (an operator's choice, any user's); returns how many it revoked."""
    return ApiToken.objects.filter(pk__in=list(token_ids), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def api_token_demo_ensure(*, user: User, known_raw: str | None) -> str:
    """The demo user's token for var/demo.json: ``known_raw`` (the one written there last time)
    while it still works for ``user``, else a new one, the older demo-made ones then revoked.
    Stored tokens cannot be read back, so the file is the only place the secret is kept."""
    if known_raw:
        known = api_token_find(raw=known_raw)
        if known is not None and known.user_id == user.pk and known.is_usable(timezone.now()):
            return known_raw
    issued = api_token_create(user=user, name=DEMO_TOKEN_NAME)
    ApiToken.objects.filter(user=user, name=DEMO_TOKEN_NAME, revoked_at__isnull=True).exclude(
        pk=issued.token.pk
    ).update(revoked_at=timezone.now())
    return issued.raw
