"""Reads of API tokens, each scoped to its user."""

import hashlib

from django.db.models import QuerySet

from accounts.api_tokens.models import ApiToken
from accounts.models import User


def api_token_digest(raw: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    """Raises ApiToken.DoesNotExist for another user's token, as for a missing one."""
    return api_token_list_for_user(user=user).get(pk=token_id)


def api_token_find(*, raw: str) -> ApiToken | None:
    """The token a client sent, with its user, in one query; revoked and expired ones included
    (the caller decides). Looking up the digest, not the token, keeps the comparison's timing
    from telling anything about stored tokens."""
    return ApiToken.objects.select_related("user").filter(digest=api_token_digest(raw)).first()
