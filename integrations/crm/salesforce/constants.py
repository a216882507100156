"""Salesforce's fixed names: API version, login hosts, the SOQL the connector issues, the
Outbound Message namespaces and the connection settings the mapping reads."""

import re
from datetime import timedelta

API_VERSION = "v62.0"
DATA_PATH = f"/services/data/{API_VERSION}"
PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
# A My Domain login host: <name>.my.salesforce.com (or a sandbox's <name>--<box>.sandbox...).
MY_DOMAIN_PATTERN = re.compile(
    r"https://[a-z0-9](?:[a-z0-9-]{0,80}[a-z0-9])?(?:--[a-z0-9]{1,40})?"
    r"(?:\.sandbox)?\.my\.salesforce\.com"
)
# Where an instance_url may point: Salesforce's own hosts over HTTPS.
INSTANCE_HOST_SUFFIXES = (".salesforce.com", ".force.com")

# Org ids are 15 or 18 characters, starting 00D; record ids 15 or 18 alphanumerics.
ORG_ID_PATTERN = re.compile(r"00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
RECORD_ID_PATTERN = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")

OPPORTUNITY_FIELDS = (
    "Id",
    "Name",
    "Amount",
    "StageName",
    "IsWon",
    "IsClosed",
    "CloseDate",
    "AccountId",
    "SystemModstamp",
)
LINE_FIELDS = (
    "Id",
    "Product2Id",
    "ProductCode",
    "Name",
    "Quantity",
    "UnitPrice",
    "ListPrice",
    "Discount",
    "TotalPrice",
    "Product2.Name",
)
ACCOUNT_FIELDS = (
    "Name",
    "Phone",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingStateCode",
    "BillingCountry",
    "BillingCountryCode",
)
# The Opportunity's contacts: the primary one gives the buyer's e-mail and telephone (an
# Account has no e-mail), and is the buyer where there is no Account.
CONTACT_ROLE_FIELDS = (
    "Id",
    "IsPrimary",
    "ContactId",
    "Contact.Name",
    "Contact.Email",
    "Contact.Phone",
)
# Records a query page holds (children count too): Salesforce's minimum, so a page is quick.
QUERY_BATCH_SIZE = 200
# The next sync reads again this far before the last change seen: SystemModstamp values tie
# and a long transaction commits with a stamp earlier than rows already read.
LOOK_BACK = timedelta(minutes=5)

OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
).encode()

# Connection settings (``connection_settings``) the mapping reads, with their defaults.
SETTING_PRICES_INCLUDE_VAT = "prices_include_vat"
SETTING_VAT_RATE = "vat_rate"
SETTING_EXEMPT_FIELD = "exempt_field"
SETTING_IRN_FIELD = "irn_field"
SETTING_LOGIN_HOST = "login_host"
DEFAULT_IRN_FIELD = "FIRS_IRN__c"
# A custom field's API name: letters, digits and underscores, ending __c.
CUSTOM_FIELD_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,36}__c")

LIMIT_HEADER = "Sforce-Limit-Info"
# Calls slow down once this share of the daily allocation is used, and wait once PAUSE_AT is.
SLOW_DOWN_AT = 0.8
PAUSE_AT = 0.95
# Seconds a call waits while the allocation is nearly spent, and after REQUEST_LIMIT_EXCEEDED.
PAUSE_SECONDS = 900.0
SLOW_DOWN_SECONDS = 1.0
