from django.apps import AppConfig


class OdooSandboxConfig(AppConfig):
    name = "sandboxes.odoo"
    label = "sandbox_odoo"
    verbose_name = "Odoo sandbox"
    # Served at /sandbox/<mount>/.
    mount = "odoo"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.kit.registry import traffic_register
        from sandboxes.odoo.provisioning import OdooProvisioner
        from sandboxes.odoo.traffic import OdooTraffic

        provisioner_register(OdooProvisioner())
        traffic_register(OdooTraffic)
