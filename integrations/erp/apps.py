from django.apps import AppConfig


class ERPConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = "ERP integrations"
