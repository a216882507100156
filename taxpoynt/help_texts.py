"""Plain-language explanations of the terms the pages use, in one place: forms take them as
help text and templates through ``{% help_text "irn" %}`` (the ``help`` template library)."""

HELP_TEXTS = {
    "hs_code": (
        "The HS (Harmonized System) code is the customs number that says what an item is: "
        "rice is 1006.3000, soap 3401.1100. FIRS's list of these codes tells VAT-exempt goods "
        "from standard-rated ones, so pick the code that describes the item."
    ),
    "irn": (
        "The IRN (Invoice Reference Number) is the number FIRS knows this invoice by. It is "
        "printed with the QR code; your customer or FIRS can look the invoice up with it."
    ),
    "p99": (
        "p50 and p99: half of the invoices were signed faster than the p50 time, and 99 in 100 "
        "faster than the p99 time; only the slowest 1 in 100 took longer."
    ),
}
