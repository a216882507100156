"""The sandboxes' tests use the worked FIRS examples the invoice tests keep."""

from tests.invoices.conftest import firs_example  # noqa: F401 (a fixture)
