from django.apps import AppConfig


class LightspeedSandboxConfig(AppConfig):
    name = "sandboxes.lightspeed"
    label = "sandbox_lightspeed"
    verbose_name = "Lightspeed Retail (X-Series) sandbox"
    # Served at /sandbox/<mount>/.
    mount = "lightspeed"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.kit.registry import traffic_register
        from sandboxes.lightspeed.provisioning import LightspeedProvisioner
        from sandboxes.lightspeed.traffic import LightspeedTraffic

        provisioner_register(LightspeedProvisioner())
        traffic_register(LightspeedTraffic)
