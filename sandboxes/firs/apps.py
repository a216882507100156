from django.apps import AppConfig


class FirsSandboxConfig(AppConfig):
    name = "sandboxes.firs"
    label = "sandbox_firs"
    verbose_name = "FIRS sandbox"
    # Served at /sandbox/<mount>/.
    mount = "firs"

    def ready(self):
        from integrations.base.sandbox_accounts import organization_setup_register
        from sandboxes.firs.api import OPERATIONS
        from sandboxes.firs.provisioning import FirsOrganizationSetup
        from sandboxes.kit.faults import operations_register

        organization_setup_register(FirsOrganizationSetup())
        operations_register(sandbox="firs", operations=OPERATIONS)
