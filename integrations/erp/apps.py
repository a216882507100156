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
                card_settings_form="integrations.erp.views.ConnectionSettingsForm",
            )
        )
        from invoices.signals import invoice_stage_reached

        invoice_stage_reached.connect(_signed_write_back, dispatch_uid="erp-irn-write-back")


def _signed_write_back(sender, *, invoice, stage, at, **kwargs):
    """A signed ERP invoice's IRN goes back to the ERP after commit, in a task of its own: a
    failure there never holds the invoice. A document the ERP said was paid before its invoice
    was signed has the payment reported now."""
    from django.db import transaction

    from integrations.erp.models import ERPDocument
    from integrations.erp.services import document_payment_report_queue
    from integrations.erp.tasks import irn_write_back_task
    from invoices.models import Invoice

    if stage != Invoice.Stage.SIGNED or invoice.source_type != Invoice.Source.ERP:
        return
    transaction.on_commit(
        lambda: irn_write_back_task.apply_async(
            kwargs={"document_id": str(invoice.source_id)}, queue="standard"
        )
    )
    paid = ERPDocument.objects.filter(pk=invoice.source_id, paid_in_erp_at__isnull=False)
    if paid.exists():
        document_payment_report_queue(document_id=invoice.source_id)
