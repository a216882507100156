from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "E-invoices"

    def ready(self):
        from invoices.signals import firs_circuit_closed

        firs_circuit_closed.connect(_firs_answers_again, dispatch_uid="invoices-firs-closed")


def _firs_answers_again(sender, *, host, **kwargs):
    # On batch: a backlog of hours of outage is re-driven without holding up the probe's worker.
    # The probe's call is outside any transaction, so there is no commit to wait for.
    from invoices.tasks import invoices_redrive_waiting_on_firs_task

    invoices_redrive_waiting_on_firs_task.apply_async(kwargs={"host": host}, queue="batch")
