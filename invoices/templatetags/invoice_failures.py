"""``{% invoice_diagnosis invoice as diagnosis %}``: what a failing invoice's failure means (None
for one that is not failing), for every page that shows the invoice's failure box."""

from django import template

from invoices import failures, selectors

register = template.Library()


@register.simple_tag
def invoice_diagnosis(invoice):
    if invoice.status not in selectors.FAILING_STATUSES:
        return None
    return failures.invoice_diagnosis(invoice)
