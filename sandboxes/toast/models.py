"""The Toast sandbox's own tables: restaurants with their machine client, the logins and tokens
it was given, and orders as Toast returns them."""

from django.db import models


class ToastSandboxRestaurant(models.Model):
    """A restaurant location and the machine client that reads it (one each, here)."""

    restaurant_guid = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=128)
    # The orders webhook subscription Toast's integrations team sets up: where changes made
    # through the API are delivered, signed with its secret; empty: none.
    webhook_url = models.CharField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.name} ({self.restaurant_guid})"


class ToastSandboxLogin(models.Model):
    """One login the machine client made: Toast limits how many an hour."""

    restaurant = models.ForeignKey(
        ToastSandboxRestaurant, on_delete=models.CASCADE, related_name="logins"
    )
    access_token = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"login of {self.restaurant_id} at {self.created_at}"


class ToastSandboxOrder(models.Model):
    """An order as Toast returns it (``data``), with the column ordersBulk filters on."""

    restaurant = models.ForeignKey(
        ToastSandboxRestaurant, on_delete=models.CASCADE, related_name="orders"
    )
    guid = models.CharField(max_length=64, unique=True)
    modified_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["restaurant", "modified_at", "guid"], name="toast_sbx_modified")
        ]

    def __str__(self):
        return self.guid
