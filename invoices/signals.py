"""What the invoice pipeline tells the rest of the project.

``invoice_stage_reached`` is sent inside the transaction that moves an invoice to a new stage, so
a source row (a POS transaction, a CRM deal) can record the moment atomically with it. Keyword
arguments: ``invoice``, ``stage``, ``at``.
"""

from django.dispatch import Signal

invoice_stage_reached = Signal()
