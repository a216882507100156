from django.apps import AppConfig


class FirsSandboxConfig(AppConfig):
    name = "sandboxes.firs"
    label = "sandbox_firs"
    verbose_name = "FIRS sandbox"
    # Served at /sandbox/<mount>/.
    mount = "firs"

    def ready(self):
        from integrations.base.sandbox_accounts import organization_setup_register
        from sandboxes.firs.provisioning import FirsOrganizationSetup

        organization_setup_register(FirsOrganizationSetup())
