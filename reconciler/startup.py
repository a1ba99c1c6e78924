"""What the package does once, on first import, so that its commands start fast.

`import httpx` also imports `httpx._main`, the module of httpx's own `httpx` command, whenever
click and rich are installed (as they are for this tool): with it come Pygments' lexers and
five rich modules, about a third of what a plan or an apply imports before its first request.
This tool never runs that command, so unless httpx is already loaded, that one module is
stood in for, when httpx asks for it, by one whose `main` says where the command is.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader  # not imported at run time: it loads importlib.resources

_COMMAND = "httpx._main"


def _httpx_command() -> None:
    raise SystemExit("the httpx command is not loaded inside smh-reconcile: run `httpx` itself")


class _StandIn:
    """Finds and loads the stand-in for `httpx._main`, and nothing else."""

    def find_spec(self, name: str, path: object, target: object = None) -> ModuleSpec | None:
        return ModuleSpec(name, cast("Loader", self)) if name == _COMMAND else None

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        module.main = _httpx_command  # type: ignore[attr-defined]


def spare_httpx_command() -> None:
    """Keep `import httpx` from loading the `httpx` command's module (see above)."""
    if "httpx" in sys.modules or any(isinstance(f, _StandIn) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StandIn())
