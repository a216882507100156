from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "taxpoynt.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self):
        from taxpoynt.ops import signals  # noqa: F401
