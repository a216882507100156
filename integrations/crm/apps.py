from django.apps import AppConfig


class CRMConfig(AppConfig):
    name = "integrations.crm"
    label = "crm"
    verbose_name = "CRM integrations"

    def ready(self):
        from integrations.base import families
        from integrations.crm.models import CRMConnection
        from integrations.crm.pipeline import CRMAdapter

        families.register(
            families.Family(
                name="crm",
                connection_model=CRMConnection,
                queue="standard",
                adapter=CRMAdapter(),
                # HubSpot sends a deal's creation and stage moves within moments, and allows an
                # account about 11 calls a second: read the deal once, well inside the 30 s SLA.
                event_delay_seconds=3.0,
            )
        )
