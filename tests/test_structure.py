"""The package's shape: no two modules import each other, not even through a chain or an
import inside a function; the apply run reads in steps of at most 50 lines; and `validate`
starts without loading what only the other commands need."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"
MAX_FUNCTION_LINES = 50
SHORT_FUNCTIONS = (PACKAGE / "apply", PACKAGE / "planner.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def run_time_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree` but those under `if TYPE_CHECKING:`, which never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for child in node.orelse:
                yield child
                yield from run_time_nodes(child)
            continue
        yield node
        yield from run_time_nodes(node)


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module `name` imports when it runs, in functions too.

    `from package import module` imports the module; the package itself counts only when a
    name that is not a module is taken from it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in run_time_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = {f"{base}.{alias.name}" for alias in node.names}
            found.update(names & known)
            if names - known:
                found.add(base)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def long_functions(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {lines}"


def test_the_import_graph_is_read_and_has_edges() -> None:
    graph = import_graph()
    assert "reconciler.apply.runner" in graph["reconciler.commands.apply"]  # in a function
    assert "reconciler.manifest.load" in graph["reconciler.manifest"]  # relative
    assert "reconciler.emulator.server" in graph["reconciler.emulator.core"]
    assert "reconciler.desired" not in graph["reconciler.predicates"]  # for types only


def test_no_import_cycle_in_the_package_function_level_imports_included() -> None:
    assert cycles(import_graph()) == []


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_function_of_the_apply_run_is_over_50_lines() -> None:
    files = [file for root in SHORT_FUNCTIONS
             for file in (sorted(root.rglob("*.py")) if root.is_dir() else [root])]
    assert len(files) > 5
    assert [found for file in files for found in long_functions(file)] == []


HEAVY = ("httpx", "rich", "jsonschema", "deepdiff", "werkzeug", "reconciler.client",
         "reconciler.emulator", "reconciler.render", "reconciler.apply", "reconciler.planner",
         "reconciler.walker", "reconciler.targets",
         # what a manifest without glob classes, sizes or mistakes needs none of
         "wcmatch", "decimal", "difflib", "tempfile", "importlib.resources", "hashlib")
_LOADED = """
import sys
from reconciler.cli import main
code = main.main(["validate", sys.argv[1]], standalone_mode=False)
heavy = sys.argv[2].split()
print(code, sorted(name for name in sys.modules if name.startswith(tuple(heavy))))
"""


def test_validate_starts_without_loading_what_only_other_commands_need() -> None:
    manifest = PACKAGE.parent / "manifests" / "demo.yaml"
    done = subprocess.run([sys.executable, "-c", _LOADED, str(manifest), " ".join(HEAVY)],
                          capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert done.stdout.splitlines()[-1] == "0 []"
    assert "1 manifest valid" in done.stdout


def test_the_clients_start_without_httpxs_own_command() -> None:
    # `import httpx` would load httpx's command-line module, and with it Pygments and rich.
    done = subprocess.run(
        [sys.executable, "-c", "import sys, reconciler.targets, httpx; "
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'pygments', 'rich'})); "
         "print(httpx.Client.__name__)"],
        capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert done.stdout.split() == ["[]", "Client"]
