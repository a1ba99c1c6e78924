"""Files shipped inside the package (`schemas/`, `data/`), read through the package's loader,
so that they are found however the package is installed."""

from __future__ import annotations

import pkgutil


def shipped_text(*parts: str) -> str:
    """The text of `reconciler/PARTS...` (`shipped_text("schemas", "plan.schema.json")`)."""
    resource = "/".join(parts)
    data = pkgutil.get_data("reconciler", resource)
    if data is None:  # pragma: no cover - only a loader that cannot read files says None
        raise FileNotFoundError(f"reconciler/{resource} is not in the package")
    return data.decode("utf-8")
