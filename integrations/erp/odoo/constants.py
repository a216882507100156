"""Odoo's names: API paths, models, the fields read per model and version, and what the values
of ``move_type``, ``state`` and ``display_type`` mean here."""

from datetime import timedelta

JSON2_PATH = "/json/2/{model}/{method}"
JSONRPC_PATH = "/jsonrpc"
VERSION_PATH = "/web/version"
DATABASE_HEADER = "X-Odoo-Database"

# JSON-2 came with 19.0; 17.0 and 18.0 take the External RPC API's execute_kw.
JSON2_SINCE_MAJOR = 19
OLDEST_MAJOR = 17
API_JSON2 = "json2"
API_JSONRPC = "jsonrpc"
# /web/version is not asked on every call: what an instance runs is kept this long.
VERSION_CACHE_SECONDS = 3600

MOVE = "account.move"
MOVE_LINE = "account.move.line"
TAX = "account.tax"
PARTNER = "res.partner"
STATE = "res.country.state"
ATTACHMENT = "ir.attachment"
MESSAGE = "mail.message"
USERS = "res.users"

# Customer documents; vendor bills and journal entries are not sales.
INVOICE_TYPES = ("out_invoice", "out_receipt")
CREDIT_NOTE_TYPE = "out_refund"
SALE_MOVE_TYPES = (*INVOICE_TYPES, CREDIT_NOTE_TYPE)
POSTED = "posted"
CANCELLED = "cancel"
# Drafts are never invoiced and never pulled; a posted or cancelled one is.
PULLED_STATES = (POSTED, CANCELLED)
PAID_STATES = ("paid", "in_payment")

# Invoice lines are the product lines only: sections, notes, tax, rounding and payment-term lines
# are Odoo's bookkeeping.
PRODUCT_LINE = "product"
TAX_LINE = "tax"

MOVE_FIELDS = (
    "name",
    "move_type",
    "state",
    "payment_state",
    "partner_id",
    "invoice_date",
    "currency_id",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "reversed_entry_id",
    "line_ids",
    "write_date",
)
LINE_FIELDS = (
    "move_id",
    "display_type",
    "name",
    "product_id",
    "quantity",
    "price_unit",
    "discount",
    "price_subtotal",
    "price_total",
    "tax_ids",
    "tax_line_id",
    "amount_currency",
)
# price_include is stored in 17.0 and computed from price_include_override since 18.0: read
# alike in every version.
TAX_FIELDS = ("name", "amount", "amount_type", "price_include")
PARTNER_FIELDS = (
    "name",
    "vat",
    "email",
    "phone",
    "street",
    "street2",
    "city",
    "zip",
    "state_id",
    "country_code",
)
STATE_FIELDS = ("code", "country_id")

# Rows per change search; a move's lines are read in chunks of this many ids.
SEARCH_PAGE_SIZE = 100
READ_CHUNK = 500
# Odoo stamps write_date at the start of a transaction and reads it to the second, so a change
# committed late can carry a time before one already seen: each sync searches again this far
# back from the last change it saw (the rows it finds twice are deduplicated).
LOOK_BACK = timedelta(minutes=2)
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# The write-back's chatter message starts with this, so a second one is never posted.
IRN_MESSAGE_MARK = "FIRS e-invoice IRN"
