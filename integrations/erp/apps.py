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
        from invoices.signals import invoice_stage_reached

        invoice_stage_reached.connect(_signed_write_back, dispatch_uid="erp-irn-write-back")


def _signed_write_back(sender, *, invoice, stage, at, **kwargs):
    """A signed ERP invoice's IRN goes back to the ERP after commit, in a task of its own: a
    failure there never holds the invoice."""
    from django.db import transaction

    from integrations.erp.tasks import irn_write_back_task
    from invoices.models import Invoice

    if stage != Invoice.Stage.SIGNED or invoice.source_type != Invoice.Source.ERP:
        return
    transaction.on_commit(
        lambda: irn_write_back_task.apply_async(
            kwargs={"document_id": str(invoice.source_id)}, queue="standard"
        )
    )
