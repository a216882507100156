from django.apps import AppConfig


class ERPConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = "ERP integrations"

    def ready(self):
        from integrations.base import families
        from integrations.erp.models import ERPConnection
        from integrations.erp.pipeline import ERPAdapter

        families.register(
            families.Family(
                name="erp",
                connection_model=ERPConnection,
                queue="standard",
                adapter=ERPAdapter(),
            )
        )
