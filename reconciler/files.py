"""Files the commands read and write: paths relative to a folder, atomic writes, JSON
documents read with one clear error, and saved plans (checked against the plan schema).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import wirejson
from reconciler.errors import ReconcileError
from reconciler.plan import FORMAT_VERSION, PLAN_FILE_KIND, PlanFile
from reconciler.shipped import shipped_text

if TYPE_CHECKING:
    import jsonschema


def located(path: str | Path, cwd: Path) -> str | Path:
    """`path` taken relative to `cwd`: as given when `cwd` is the working directory itself,
    so that every message names it as the user spelled it."""
    return path if cwd == Path() else cwd / path


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half a file."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReconcileError(f"cannot write {target}: {error.strerror or error}") from None


def read_json(path: str | Path, what: str) -> Any:
    """The JSON document in `path`, or one clear error saying why it can't be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return wirejson.loads(handle.read())
    except FileNotFoundError:
        raise ReconcileError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReconcileError(f"{path}: cannot read the {what}: {error}") from None
    except json.JSONDecodeError as error:
        raise ReconcileError(
            f"{path}:{error.lineno}:{error.colno}: the {what} is not valid JSON ({error.msg})"
        ) from None
    except RecursionError:
        raise ReconcileError(f"{path}: the {what} nests too deeply to be read") from None


def read_plan_file(path: str | Path) -> PlanFile:
    """A saved plan, checked against the plan schema first: a file of another shape (edited,
    damaged or not a plan) is one clear error, never a traceback."""
    import jsonschema

    document = read_json(path, "plan file")
    if isinstance(document, dict) and document.get("kind") == PLAN_FILE_KIND and (
            document.get("format_version") == FORMAT_VERSION):
        # The schema checks the file's frame; the changes, which can number millions, are
        # read strictly by `PlanFile.from_json` instead (jsonschema's `oneOf` per change
        # would cost a millisecond each), and every one is re-derived at apply anyway.
        changes = document.get("changes")
        frame = {**document, "changes": []} if isinstance(changes, list) else document
        error = jsonschema.exceptions.best_match(_plan_validator().iter_errors(frame))
        if error is not None:
            where = "/".join(str(step) for step in error.absolute_path) or "the top level"
            raise ReconcileError(f"{path}: not a valid plan file: at {where}: {error.message}")
    return PlanFile.from_json(document)


@functools.cache
def _plan_validator() -> jsonschema.protocols.Validator:
    import jsonschema

    schema = json.loads(shipped_text("schemas", "plan.schema.json"))
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(schema)
    return validator


def is_plan_file(path: str | Path) -> bool:
    """Whether `path` is a saved plan (rather than a manifest or a folder of them)."""
    candidate = Path(path)
    if not candidate.is_file() or candidate.suffix.lower() in (".yaml", ".yml"):
        return False
    try:
        with open(candidate, encoding="utf-8") as handle:
            head = handle.read(4096)
            if not head.lstrip().startswith("{"):
                return False
            # Keys are sorted, so `kind` comes after `changes`: look through the whole file.
            return PLAN_FILE_KIND in head + handle.read()
    except (OSError, UnicodeDecodeError):
        return False
