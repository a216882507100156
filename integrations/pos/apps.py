from django.apps import AppConfig


class POSConfig(AppConfig):
    name = "integrations.pos"
    label = "pos"
    verbose_name = "POS integrations"

    def ready(self):
        from integrations.base import families
        from integrations.pos.models import POSConnection
        from integrations.pos.pipeline import POSAdapter

        families.register(
            families.Family(
                name="pos",
                connection_model=POSConnection,
                queue="realtime",
                adapter=POSAdapter(),
                card_settings_form="integrations.pos.views.ConnectionSettingsForm",
            )
        )
