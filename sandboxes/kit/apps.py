from django.apps import AppConfig


class SandboxKitConfig(AppConfig):
    name = "sandboxes.kit"
    label = "sandbox_kit"
    verbose_name = "Sandbox kit"
