from django.apps import AppConfig


class POSConfig(AppConfig):
    name = "integrations.pos"
    label = "pos"
    verbose_name = "POS integrations"

    def ready(self):
        from integrations.base import families
        from integrations.pos.models import POSConnection
        from integrations.pos.tasks import event_process_task
        from invoices.signals import invoice_stage_reached

        families.register(
            families.Family(
                name="pos",
                connection_model=POSConnection,
                queue="realtime",
                process_event_task=event_process_task,
                card_settings_form="integrations.pos.views.ConnectionSettingsForm",
            )
        )
        invoice_stage_reached.connect(_stage_recorded, dispatch_uid="pos-invoice-stage")


def _stage_recorded(sender, *, invoice, stage, at, **kwargs):
    from integrations.pos import services

    services.invoice_stage_recorded(invoice=invoice, stage=stage, at=at)
