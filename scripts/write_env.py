"""Write a development .env with fresh secrets, once. Never overwrites an existing file."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

target = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if target.exists():
    sys.exit(0)
target.write_text(
    "# Development settings written by `make`; git-ignored.\n"
    "# Production sets these in its environment instead.\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
    f"METRICS_TOKEN={secrets.token_urlsafe(32)}\n"
    "DEBUG=true\n"
)
target.chmod(0o600)
print(f"wrote {target} with new development secrets")
