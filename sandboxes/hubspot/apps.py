from django.apps import AppConfig


class HubSpotSandboxConfig(AppConfig):
    name = "sandboxes.hubspot"
    label = "sandbox_hubspot"
    verbose_name = "HubSpot sandbox"
    # Served at /sandbox/<mount>/.
    mount = "hubspot"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.hubspot.provisioning import HubSpotProvisioner
        from sandboxes.hubspot.traffic import HubSpotTraffic
        from sandboxes.kit.registry import traffic_register

        provisioner_register(HubSpotProvisioner())
        traffic_register(HubSpotTraffic)
