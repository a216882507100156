"""API tokens, stored as their SHA-256 digest: the database holds no token a client could use."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """One secret a client sends as ``Authorization: Token <token>``, acting as ``user``.

    The token itself is shown once, when it is made; only its first characters (``prefix``, to
    tell tokens apart in lists) and its digest are kept.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)
    # A token is 32 random bytes or more, out of reach of guessing: a fast hash is enough.
    digest = models.CharField("SHA-256 digest", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    def is_usable(self, now) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @property
    def status(self) -> str:
        """The token's state as of now, for lists: revoked, expired or active."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_usable(timezone.now()) else "expired"
