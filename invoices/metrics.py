"""Prometheus metrics of the invoice pipeline, exported at /metrics."""

from prometheus_client import Histogram

SOURCE_TO_SIGNED_SECONDS = Histogram(
    "taxpoynt_source_received_to_invoice_signed_seconds",
    "From a sale or deal reaching us (webhook or pull) to its invoice signed by FIRS.",
    ["source_type", "platform"],
    buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 120, 300),
)
