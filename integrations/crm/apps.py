from django.apps import AppConfig


class CRMConfig(AppConfig):
    name = "integrations.crm"
    label = "crm"
    verbose_name = "CRM integrations"

    def ready(self):
        from integrations.base import families
        from integrations.crm.models import CRMConnection
        from integrations.crm.tasks import event_process_task
        from invoices.signals import invoice_stage_reached

        families.register(
            families.Family(
                name="crm",
                connection_model=CRMConnection,
                queue="standard",
                process_event_task=event_process_task,
                # HubSpot sends a deal's creation and stage moves within moments, and allows an
                # account about 11 calls a second: read the deal once, well inside the 30 s SLA.
                event_delay_seconds=3.0,
            )
        )
        invoice_stage_reached.connect(_stage_recorded, dispatch_uid="crm-invoice-stage")


def _stage_recorded(sender, *, invoice, stage, at, **kwargs):
    from integrations.crm import services

    services.invoice_stage_recorded(invoice=invoice, stage=stage, at=at)
