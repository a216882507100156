"""What a fresh sandbox database holds: Nigeria with four states, NGN and USD, the sales taxes
of a Nigerian company (VAT 7.5 % excluded and included, exempt, zero-rated), customers with and
without a TIN, and products."""

from sandboxes.odoo.server import record_create

STATES = (("LA", "Lagos"), ("FC", "Federal Capital Territory"), ("RI", "Rivers"), ("KN", "Kano"))
TAXES = (
    ("VAT 7.5%", 7.5, False),
    ("VAT 7.5% (included)", 7.5, True),
    ("VAT exempt", 0.0, False),
    ("VAT 0% (zero-rated)", 0.0, False),
)
CUSTOMERS = (
    ("Lagos Builders Ltd", "31569955-0001", "14 Adeola Odeku Street", "Lagos", "101241", "LA"),
    ("Abuja Logistics Ltd", "20498812-0001", "7 Aminu Kano Crescent", "Wuse", "900288", "FC"),
    ("Rivers Marine Services", "18844120-0001", "3 Aba Road", "Port Harcourt", "500272", "RI"),
    ("Amina Bello", False, "22 Zoo Road", "Kano", "700211", "KN"),
)
PRODUCTS = (
    ("Consulting hour", "SRV-CONS", 25000.0),
    ("Cement, 50 kg bag", "CEM-50", 9850.5),
    ("Laptop computer", "LAP-14", 685000.0),
    ("Training day", "SRV-TRN", 150000.0),
    ("Printer paper, carton", "PAP-A4", 18999.99),
)


def database_seed(database) -> None:
    nigeria = record_create(database, "res.country", {"name": "Nigeria", "code": "NG"}).pk
    states = {
        code: record_create(
            database, "res.country.state", {"name": name, "code": code, "country_id": nigeria}
        ).pk
        for code, name in STATES
    }
    for name in ("NGN", "USD"):
        record_create(database, "res.currency", {"name": name})
    for name, amount, included in TAXES:
        record_create(
            database,
            "account.tax",
            {
                "name": name,
                "amount": amount,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "price_include": included,
            },
        )
    for name, vat, street, city, postcode, state in CUSTOMERS:
        record_create(
            database,
            "res.partner",
            {
                "name": name,
                "vat": vat,
                "email": f"accounts@{name.split()[0].lower()}.ng",
                "phone": "+2348031234567",
                "street": street,
                "street2": False,
                "city": city,
                "zip": postcode,
                "state_id": states[state],
                "country_id": nigeria,
                "is_company": bool(vat),
            },
        )
    for name, code, price in PRODUCTS:
        record_create(
            database,
            "product.product",
            {"name": name, "default_code": code, "list_price": price},
        )
