from django.apps import AppConfig


class ToastSandboxConfig(AppConfig):
    name = "sandboxes.toast"
    label = "sandbox_toast"
    verbose_name = "Toast sandbox"
    # Served at /sandbox/<mount>/.
    mount = "toast"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.kit.registry import traffic_register
        from sandboxes.toast.provisioning import ToastProvisioner
        from sandboxes.toast.traffic import ToastTraffic

        provisioner_register(ToastProvisioner())
        traffic_register(ToastTraffic)
