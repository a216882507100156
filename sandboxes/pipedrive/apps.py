from django.apps import AppConfig


class PipedriveSandboxConfig(AppConfig):
    name = "sandboxes.pipedrive"
    label = "sandbox_pipedrive"
    verbose_name = "Pipedrive sandbox"
    # Served at /sandbox/<mount>/.
    mount = "pipedrive"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.kit.registry import traffic_register
        from sandboxes.pipedrive.provisioning import PipedriveProvisioner
        from sandboxes.pipedrive.traffic import PipedriveTraffic

        provisioner_register(PipedriveProvisioner())
        traffic_register(PipedriveTraffic)
