from django.apps import AppConfig


class CRMConfig(AppConfig):
    name = "integrations.crm"
    label = "crm"
    verbose_name = "CRM integrations"

    def ready(self):
        from integrations.base import families
        from integrations.crm.models import CRMConnection
        from integrations.crm.pipeline import CRMAdapter
        from invoices.signals import invoice_stage_reached

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
        invoice_stage_reached.connect(_stage_reached, dispatch_uid="crm-irn-notes")


def _stage_reached(sender, *, invoice, stage, **kwargs):
    from integrations.crm import services

    services.deal_irn_note_queue(invoice=invoice, stage=stage)
