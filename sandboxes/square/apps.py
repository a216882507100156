from django.apps import AppConfig


class SquareSandboxConfig(AppConfig):
    name = "sandboxes.square"
    label = "sandbox_square"
    verbose_name = "Square sandbox"
    # Served at /sandbox/<mount>/.
    mount = "square"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.kit.registry import traffic_register
        from sandboxes.square.provisioning import SquareProvisioner
        from sandboxes.square.traffic import SquareTraffic

        provisioner_register(SquareProvisioner())
        traffic_register(SquareTraffic)
