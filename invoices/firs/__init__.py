"""FIRS MBS: the HTTP client (client.py). The sandbox that plays FIRS is sandboxes/firs."""
