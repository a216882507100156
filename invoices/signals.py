"""What the invoice pipeline tells the rest of the project.

``invoice_stage_reached`` is sent inside the transaction that moves an invoice to a new stage, so
a source row (a POS transaction, a CRM deal) can record the moment atomically with it. Keyword
arguments: ``invoice``, ``stage``, ``at``.

``firs_circuit_closed`` is sent when a probe finds FIRS answering again after the shared circuit
breaker had opened: the invoices that waited for FIRS can go now. Keyword argument: ``host``,
the FIRS host (``host:port``) the breaker guards.
"""

from django.dispatch import Signal

invoice_stage_reached = Signal()
firs_circuit_closed = Signal()
