"""Lightspeed Retail (X-Series, formerly Vend): the hosts, names and numbers the connector uses.

Each store is a host of its own, ``https://{domain_prefix}.retail.lightspeed.app``, which serves
both the API and the store's token endpoint; the consent page is one host for every store.
"""

import re

AUTHORIZE_URL = "https://secure.retail.lightspeed.app/connect"
STORE_URL = "https://{domain_prefix}.retail.lightspeed.app"
TOKEN_PATH = "/api/1.0/token"  # noqa: S105 (a path)
# A domain prefix becomes a host name label: letters, digits and inner hyphens only, so a
# callback cannot send our client secret to a host of its choosing.
DOMAIN_PREFIX_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)

# Sale statuses (API 2.0 ``Sale.status``). A sale is invoiced once it is closed; laybys and
# on-account sales pass through open statuses first, each change firing ``sale.update``.
CLOSED_STATUSES = frozenset(
    {
        "CLOSED",
        "ONACCOUNT_CLOSED",
        "LAYBY_CLOSED",
        "DISPATCHED_CLOSED",
        "PICKED_UP_CLOSED",
        "SERVICE_CLOSED",
    }
)
VOIDED = "VOIDED"
# A line voided inside a sale that goes on: not sold.
LINE_VOIDED = "VOIDED"
# What a void's credit note is called: the sale's id with this after it.
VOID_SUFFIX = "-void"

SALE_UPDATE = "sale.update"
SIGNATURE_HEADER = "X-Signature"

# Rate limits: 300 x registers + 50 requests per 5-minute window, per store and application.
RATE_LIMIT_HEADER = "X-RateLimit-Limit"
RATE_REMAINING_HEADER = "X-RateLimit-Remaining"
RATE_WINDOW_SECONDS = 300.0

# Version-cursor lists take up to this many per page; the search's offset pages up to 1,000.
SALES_PAGE_SIZE = 200
SEARCH_PAGE_SIZE = 200

# The customer field holding the buyer's TIN unless the connection names another.
DEFAULT_TIN_FIELD = "custom_field_1"
# Payment type ids that say how a sale was paid -> FIRS payment-means codes (UNCL4461). Only
# cash is certain from Lightspeed's own examples; the rest are left out, not guessed.
PAYMENT_MEANS_BY_TYPE = {"1": "10"}
