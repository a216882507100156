"""FIRS MBS: the HTTP client (client.py) and the sandbox that plays FIRS (sandbox.py)."""
