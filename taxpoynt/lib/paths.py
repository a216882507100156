from pathlib import Path


def ensure_dirs(*paths) -> None:
    """Create local state folders (broker, results) that the file-based fallbacks need."""
    for path in paths:
        Path(path).mkdir(parents=True, exist_ok=True)
