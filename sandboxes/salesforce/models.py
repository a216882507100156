"""The Salesforce sandbox's orgs and records: Accounts, Product2, Opportunities with their line
items, query locators, and the OAuth codes and tokens of the kit."""

import secrets
import string

from django.db import models

from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode

ID_CHARACTERS = string.ascii_letters + string.digits


def record_id(prefix: str) -> str:
    """An 18-character id with the object's key prefix (006 Opportunity, 001 Account, ...)."""
    return prefix + "".join(secrets.choice(ID_CHARACTERS) for _ in range(15))


class SalesforceSandboxOrg(models.Model):
    org_id = models.CharField(max_length=18, unique=True)
    user_id = models.CharField(max_length=18)
    # The org's own connected app (a tenant's), besides the public one every org may install.
    client_id = models.CharField(max_length=191, unique=True)
    client_secret = models.CharField(max_length=191)
    redirect_uri = models.CharField(max_length=2000, blank=True)
    # The daily API request allocation (rolling 24 hours), reported in Sforce-Limit-Info.
    api_max = models.PositiveIntegerField(default=100_000)
    # Child line items a query answer nests per Opportunity before paging them.
    child_batch_size = models.PositiveIntegerField(default=200)
    # Where the org's Outbound Message on won Opportunities posts ("" until configured).
    outbound_url = models.CharField(max_length=2000, blank=True)
    action_id = models.CharField(max_length=18)
    session_seconds = models.PositiveIntegerField(default=7200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Salesforce sandbox org {self.org_id}"


class SalesforceSandboxRecord(models.Model):
    """One sObject of an org: its type, id, fields (JSON, as the REST API shows them) and
    SystemModstamp. Line items name their Opportunity in ``parent_id``."""

    org = models.ForeignKey(SalesforceSandboxOrg, on_delete=models.CASCADE, related_name="records")
    object_type = models.CharField(max_length=40)
    sf_id = models.CharField(max_length=18, unique=True)
    parent_id = models.CharField(max_length=18, blank=True, db_index=True)
    fields = models.JSONField(default=dict)
    system_modstamp = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["org", "object_type", "system_modstamp", "sf_id"])]

    def __str__(self):
        return f"{self.object_type} {self.sf_id}"


class SalesforceSandboxLocator(models.Model):
    """A query's remaining rows: the ids still to answer, with the fields asked."""

    org = models.ForeignKey(SalesforceSandboxOrg, on_delete=models.CASCADE)
    locator = models.CharField(max_length=18, unique=True)
    kind = models.CharField(max_length=16)
    ids = models.JSONField(default=list)
    select = models.JSONField(default=dict)
    batch_size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"query locator {self.locator}"


class SalesforceSandboxAuthorizationCode(SandboxAuthorizationCode):
    account = models.ForeignKey(SalesforceSandboxOrg, on_delete=models.CASCADE)


class SalesforceSandboxAccessToken(SandboxAccessToken):
    account = models.ForeignKey(SalesforceSandboxOrg, on_delete=models.CASCADE)
