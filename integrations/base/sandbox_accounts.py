"""Accounts in the in-project sandboxes, reached without importing one.

Each sandbox app registers a provisioner for the platform it plays (in its ``AppConfig.ready``);
the apps are installed only when ``SANDBOX_ENABLED``, so with sandboxes off the registry is empty
and nothing here can reach a sandbox. Connecting "a fresh sandbox account" (API, pages), the demo
data and the benchmark all go through it, so a new sandbox is connected everywhere by
registering, without anyone naming it.
"""

import json
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from integrations.base import families
from integrations.base.connections import (
    ConnectError,
    connection_connected_record,
    platform_connector,
    webhook_url,
)


@dataclass(frozen=True)
class SandboxAccount:
    """A fresh account in a sandbox, ready to connect without OAuth. ``connection_fields`` are
    the columns a connection to it starts with besides its credentials (location, mapping
    defaults a real tenant sets themselves, the key the sandbox signs webhooks with, won
    stages), each set only where the family's connection model has the column."""

    account_id: str
    credentials: dict
    base_url: str
    connection_fields: dict = field(default_factory=dict)


class SandboxProvisioner(ABC):
    """What a sandbox registers for the platform it plays: making accounts, and what the
    platform's developer console would show for one."""

    family: str
    platform: str

    @abstractmethod
    def account_create(self, *, site_url: str) -> SandboxAccount:
        """A fresh account, its API served under ``base_url`` on ``site_url``."""

    @abstractmethod
    def account_exists(self, *, account_id: str) -> bool:
        """Whether the sandbox still holds the account (a dropped table loses them)."""

    @abstractmethod
    def console(self, *, connection) -> dict:
        """What the developer console shows for the connection's account: its API token as
        ``sandbox_access_token`` and the credentials the platform signs webhooks with."""

    def connection_ready(self, *, connection) -> None:  # noqa: B027 (optional hook)
        """Whatever the platform would hold for a connection made to the account, written
        into the sandbox directly (a webhook subscription our connect would make by API): the
        site may not be serving yet. Called whenever the connection's URLs are set."""

    def organization_prepare(self, *, organization) -> None:  # noqa: B027 (optional hook)
        """What the organization needs to sell the sandbox shop's goods, set as a tenant would
        (its items' tax classification); nothing unless the sandbox says so."""


class OrganizationSetup(ABC):
    """A sandbox that serves an organization rather than a connection (FIRS): points the
    organization's own settings at the sandbox."""

    name: str

    @abstractmethod
    def organization_connect(self, *, organization, site_url: str) -> None: ...


_provisioners: dict[str, SandboxProvisioner] = {}
_organization_setups: dict[str, OrganizationSetup] = {}


def provisioner_register(provisioner: SandboxProvisioner) -> None:
    registered = _provisioners.get(provisioner.platform)
    if registered is not None and type(registered) is not type(provisioner):
        raise ValueError(f"Two sandboxes provision {provisioner.platform!r}")
    _provisioners[provisioner.platform] = provisioner


def organization_setup_register(setup: OrganizationSetup) -> None:
    _organization_setups[setup.name] = setup


def provisioner_for(platform: str) -> SandboxProvisioner | None:
    return _provisioners.get(platform) if settings.SANDBOX_ENABLED else None


def provisioners() -> list[SandboxProvisioner]:
    return (
        [_provisioners[platform] for platform in sorted(_provisioners)]
        if settings.SANDBOX_ENABLED
        else []
    )


def sandbox_base_url(*, site_url: str, platform: str) -> str:
    """Where a sandbox is mounted on a site: ``/sandbox/<name>/``."""
    return f"{site_url.rstrip('/')}/sandbox/{platform}"


def connection_sandbox_create(*, family: str, platform: str, organization, user, site_url: str):
    """A connection to a fresh account in the platform's sandbox: no OAuth, signed webhooks on."""
    connector = platform_connector(family=family, platform=platform)
    provisioner = provisioner_for(platform)
    if provisioner is None:
        raise ConnectError(f"No {connector.display_name} sandbox runs here.")
    account = provisioner.account_create(site_url=site_url)
    model = families.get(family).connection_model
    columns = {field.name for field in model._meta.fields}
    fields = {
        "webhook_secret": secrets.token_urlsafe(32),
        **{name: value for name, value in account.connection_fields.items() if name in columns},
    }
    with transaction.atomic():
        connection = model.objects.create(
            **{model.platform_field: platform},
            organization=organization,
            user=user,
            credentials_encrypted=json.dumps(account.credentials),
            account_id=account.account_id,
            base_url=account.base_url,
            is_sandbox=True,
            **fields,
        )
        connection.webhook_url = webhook_url(site_url=site_url, connection=connection)
        connection.notification_url = connection.webhook_url
        connection.save(update_fields=["webhook_url", "notification_url"])
        connection_connected_record(connection=connection, actor=user)
    provisioner.connection_ready(connection=connection)
    return connection


def sandbox_connection_ensure(*, provisioner: SandboxProvisioner, organization, user, site_url):
    """The organization's sandbox connection to the provisioner's platform, made once and
    pointed at ``site_url`` (re-running on another port keeps the same connection). One whose
    account the sandbox no longer holds is switched off and replaced."""
    model = families.get(provisioner.family).connection_model
    mine = model.objects.filter(
        organization=organization,
        is_sandbox=True,
        is_active=True,
        **{model.platform_field: provisioner.platform},
    ).order_by("created_at")
    connection = mine.first()
    if connection is not None and not provisioner.account_exists(account_id=connection.account_id):
        mine.filter(pk=connection.pk).update(is_active=False)
        connection = None
    if connection is None:
        return connection_sandbox_create(
            family=provisioner.family,
            platform=provisioner.platform,
            organization=organization,
            user=user,
            site_url=site_url,
        )
    connection.base_url = sandbox_base_url(site_url=site_url, platform=provisioner.platform)
    connection.webhook_url = webhook_url(site_url=site_url, connection=connection)
    connection.notification_url = connection.webhook_url
    connection.save(update_fields=["base_url", "webhook_url", "notification_url", "updated_at"])
    provisioner.connection_ready(connection=connection)
    return connection


def sandboxes_connect(*, organization, user, site_url: str) -> list[tuple[object, dict]]:
    """Point the organization at every registered sandbox: its own settings (FIRS) and one
    connection per platform, each with what that platform's console shows for its account."""
    with transaction.atomic():
        for name in sorted(_organization_setups) if settings.SANDBOX_ENABLED else ():
            _organization_setups[name].organization_connect(
                organization=organization, site_url=site_url
            )
        connected = []
        for provisioner in provisioners():
            connection = sandbox_connection_ensure(
                provisioner=provisioner, organization=organization, user=user, site_url=site_url
            )
            provisioner.organization_prepare(organization=organization)
            connected.append((connection, provisioner.console(connection=connection)))
    return connected
