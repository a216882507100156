"""Simulators of the outside APIs TaxPoynt talks to, for development, demos, tests and the
benchmark: one Django app per simulated API, on the shared ``kit``. Installed and mounted only when
``SANDBOX_ENABLED``; production code never imports them."""
