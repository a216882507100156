"""Toast's names and numbers, as its API and webhooks use them."""

DEFAULT_BASE_URL = "https://ws-api.toasttab.com"
LOGIN_PATH = "/authentication/v1/authentication/login"
ORDER_PATH = "/orders/v2/orders/{guid}"
ORDERS_BULK_PATH = "/orders/v2/ordersBulk"
MACHINE_CLIENT = "TOAST_MACHINE_CLIENT"

RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
SIGNATURE_HEADER = "Toast-Signature"
ATTEMPT_HEADER = "Toast-Attempt-Number"

ORDER_EVENT_TYPES = frozenset({"order_updated", "channel_order_updated"})

# ordersBulk: at most 100 orders a page and a month of modified time a call.
BULK_PAGE_SIZE = 100
BULK_MAX_WINDOW_DAYS = 30

# A check is a sale once paid: PAID (card tip not adjusted yet: the tip is off the invoice
# anyway) or CLOSED. OPEN checks owe money still.
PAID_CHECK_STATUSES = frozenset({"PAID", "CLOSED"})
REFUNDED_STATUSES = frozenset({"PARTIAL", "FULL"})
# Payments that took no money say nothing about how the check was paid.
PAYMENT_STATUSES_WITHOUT_MONEY = frozenset(
    {"VOIDED", "DENIED", "ERROR", "ERROR_NETWORK", "CANCELLED", "PROCESSING_VOID"}
)
# Toast payment types -> FIRS payment-means codes (UNCL4461); the others are left out rather
# than guessed (payment means are optional on a FIRS invoice).
PAYMENT_MEANS_BY_TOAST_TYPE = {"CASH": "10", "CREDIT": "48"}

# The login answer's token is reused until this long before it expires: Toast asks for no more
# than two logins an hour and a refresh in the token's last minute.
TOKEN_REFRESH_MARGIN_SECONDS = 120
# The fallback poll re-reads this much before its last window's end: Toast's modified index
# may commit late, and a sale seen twice is recorded once.
POLL_OVERLAP_SECONDS = 120
