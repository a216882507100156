from django.apps import AppConfig


class IntegrationsBaseConfig(AppConfig):
    name = "integrations.base"
    label = "integrations_base"
    verbose_name = "Integrations"

    def ready(self):
        from accounts.signals import organization_setup_ready
        from integrations.base import registry
        from invoices.signals import invoice_stage_reached

        # Refuse to start with a broken registry rather than fail on the first webhook.
        registry.load()
        invoice_stage_reached.connect(_stage_recorded, dispatch_uid="integrations-invoice-stage")
        organization_setup_ready.connect(_setup_ready, dispatch_uid="integrations-setup-ready")


def _stage_recorded(sender, *, invoice, stage, at, **kwargs):
    from integrations.base import pipeline

    pipeline.invoice_stage_recorded(invoice=invoice, stage=stage, at=at)


def _setup_ready(sender, *, organization, **kwargs):
    from integrations.base import pipeline

    pipeline.invoices_waiting_setup_resume(organization=organization)
