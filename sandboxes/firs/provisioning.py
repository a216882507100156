"""Pointing an organization's FIRS settings at the FIRS sandbox this site serves."""

from integrations.base.sandbox_accounts import OrganizationSetup, sandbox_base_url
from sandboxes.firs.server import sandbox_organization_connect


class FirsOrganizationSetup(OrganizationSetup):
    name = "firs"

    def organization_connect(self, *, organization, site_url: str) -> None:
        sandbox_organization_connect(
            organization=organization,
            base_url=sandbox_base_url(site_url=site_url, platform=self.name),
        )
