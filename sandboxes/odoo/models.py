"""The Odoo sandbox's tables: databases (each with its user, API key and automation rule) and
their records, every model in one table as Odoo's ORM would read them."""

from django.db import models


class OdooSandboxDatabase(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # 19 serves JSON-2; 17 and 18 only the External RPC API.
    major_version = models.PositiveSmallIntegerField(default=19)
    login = models.CharField(max_length=128)
    uid = models.PositiveIntegerField(default=2)
    api_key = models.CharField(max_length=128, unique=True)
    api_key_revoked = models.BooleanField(default=False)
    # The automation rule "Send Webhook Notification" on account.move: its URL, empty when none.
    webhook_url = models.CharField(max_length=500, blank=True)
    # Deliveries are logged but not sent (a test sends them itself, repeated and shuffled).
    webhooks_held = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.name} ({self.major_version}.0)"


class OdooSandboxRecord(models.Model):
    """One record of one model; ``id`` is its Odoo id. ``values`` holds its stored fields,
    many2one as bare ids and x2many as id lists; money as numbers rounded to the cent."""

    database = models.ForeignKey(OdooSandboxDatabase, on_delete=models.CASCADE)
    model = models.CharField(max_length=64)
    values = models.JSONField(default=dict)
    create_date = models.DateTimeField(auto_now_add=True)
    # Odoo's write_date: the transaction's time, kept to the microsecond, read to the second.
    write_date = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["database", "model", "write_date"], name="odoo_sbx_model_write"),
        ]

    def __str__(self):
        return f"{self.model}({self.pk})"


class OdooSandboxWebhook(models.Model):
    """A delivery the automation rule made (sent, or held for a test to send)."""

    database = models.ForeignKey(OdooSandboxDatabase, on_delete=models.CASCADE)
    body = models.BinaryField()
    status = models.PositiveSmallIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"webhook {self.pk} ({self.status or 'not sent'})"
