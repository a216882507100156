from django.apps import AppConfig


class POSConfig(AppConfig):
    name = "integrations.pos"
    label = "pos"
    verbose_name = "POS integrations"
