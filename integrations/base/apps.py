from django.apps import AppConfig


class IntegrationsBaseConfig(AppConfig):
    name = "integrations.base"
    label = "integrations_base"
    verbose_name = "Integrations"

    def ready(self):
        from integrations.base import registry

        # Refuse to start with a broken registry rather than fail on the first webhook.
        registry.load()
