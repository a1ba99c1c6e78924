"""`smh-reconcile demo`: the whole flow against an embedded emulator and bundled sample data.

Owns the walkthrough: it serves the sample library (`reconciler/data/demo-seed.yaml`) from an
emulator on an ephemeral loopback port, then runs validate, plan, apply and plan again on the
bundled `demo.yaml` through the same command line a user types, narrating each step. Everything
it writes (the manifest copy, the plan file, the report, the apply journal) goes to a temporary
folder that is removed at the end; the credentials are made up per run and never printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shlex
import tempfile
import textwrap
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Final

import click
import httpx
import yaml

from reconciler.auth import ACCESS_TOKEN_ENV, LIBRARY_SECRET_ENV
from reconciler.commands import epilog
from reconciler.emulator import Emulator
from reconciler.errors import ReconcileError
from reconciler.pipeline import ENDPOINT_ENV, read_plan_file
from reconciler.render import Format, render

SEED_FILE: Final = "demo-seed.yaml"
MANIFEST_FILE: Final = "demo.yaml"

# Seed files have no recycle bin of their own: the demo deletes these (to the bin) before it
# starts, so that `recycle_bin: {empty: true}` has something to clear. (space, path, kind)
ALREADY_RECYCLED: Final = (
    ("marketing", "old-site", "directory"),
    ("marketing", "flyers/flyer-2022.pdf", "file"),
    ("archive", "2021", "directory"),
)


def bundled(name: str) -> str:
    """The text of a file shipped in `reconciler/data/`."""
    return resources.files("reconciler").joinpath("data", name).read_text(encoding="utf-8")


def demo_emulator(*, secret: str, admin_token: str) -> Emulator:
    """The sample library, with this run's credentials and items already in the bins."""
    seed: dict[str, Any] = yaml.safe_load(bundled(SEED_FILE))
    seed.update(secret=secret, token=admin_token)
    emulator = Emulator.from_seed(seed)
    with httpx.Client(transport=emulator.transport(),
                      base_url=f"https://{seed['library']}.api.tencentsmh.cn") as client:
        for space, path, kind in ALREADY_RECYCLED:
            answer = client.delete(f"/api/v1/{kind}/{seed['library']}/{space}/{path}",
                                   params={"access_token": admin_token})
            answer.raise_for_status()
    return emulator


@contextlib.contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """`os.environ` with `values` set (None: unset) for the duration, then as it was."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _say(text: str, *, indent: str = "") -> None:
    click.echo(textwrap.fill(text, width=94, initial_indent=indent, subsequent_indent=indent))


def _run(step: str, args: Sequence[str], why: str, *, shown: str | None = None) -> None:
    """Run one `smh-reconcile` command in this process, as a user would type it.

    `shown` is a plan an earlier step printed: where the command starts by printing it again,
    a line pointing back at it stands in for the copy."""
    # Imported here: the command group imports this module to register `demo`.
    from reconciler.cli import main

    click.echo()
    click.secho(f"{step} $ smh-reconcile {shlex.join(args)}", bold=True)
    _say(why, indent="      ")
    click.echo()
    if shown is None:
        code = main.main(list(args), prog_name="smh-reconcile", standalone_mode=False)
    else:
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                code = main.main(list(args), prog_name="smh-reconcile", standalone_mode=False)
        finally:
            output = captured.getvalue()
            if output.startswith(shown):
                output = "(the plan shown in the step before)\n" + output[len(shown):]
            click.echo(output, nl=False)
    if code not in (0, None):
        raise ReconcileError(f"the demo stopped: `smh-reconcile {shlex.join(args)}` "
                             f"exited with {code}")


def _request_counts(emulator: Emulator) -> Counter[str]:
    """Requests the emulator has answered so far, by HTTP method."""
    counts: Counter[str] = Counter()
    for route, count in emulator.stats()["requests"].items():
        counts[route.split(" ", 1)[0]] += count
    return counts


def _requests_since(emulator: Emulator, before: Counter[str]) -> str:
    """`57 requests, all GET`, or the methods and counts when not all are GET."""
    sent = _request_counts(emulator) - before
    total = sum(sent.values())
    if set(sent) <= {"GET"}:
        return f"{total} requests, all GET"
    return f"{total} requests (" + ", ".join(f"{n} {m}" for m, n in sorted(sent.items())) + ")"


def _library_facts(emulator: Emulator) -> tuple[int, int]:
    """(files, recycle-bin items) over every space."""
    spaces = emulator.state()["spaces"].values()
    files = sum(1 for space in spaces for path in space["paths"] if not path.endswith("/"))
    return files, sum(len(space["recycled"]) for space in spaces)


def _missing(plan_file: Path) -> str:
    """The missing paths a saved plan reports, for the narration."""
    missing = json.loads(plan_file.read_text(encoding="utf-8")).get("missing", [])
    return ", ".join(f"{item['path']} ({item['space']})" for item in missing) or "none"


def made_up_secret() -> str:
    """A credential for this run only: the emulator forgets it when the demo ends."""
    return secrets.token_urlsafe(24)


def run_demo() -> int:
    secret, admin_token = made_up_secret(), made_up_secret()
    emulator = demo_emulator(secret=secret, admin_token=admin_token)
    spaces = " and ".join(sorted(emulator.state()["spaces"]))
    files, recycled = _library_facts(emulator)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(emulator.serve(host="127.0.0.1", port=0))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="smh-reconcile-demo-")))
        (workdir / MANIFEST_FILE).write_text(bundled(MANIFEST_FILE), encoding="utf-8")
        stack.enter_context(_working_directory(workdir))
        stack.enter_context(_environment({
            ENDPOINT_ENV: url, LIBRARY_SECRET_ENV: secret, ACCESS_TOKEN_ENV: None,
        }))
        click.secho("smh-reconcile demo", bold=True)
        _say(f"An SMH emulator at {url} serves the sample library {emulator.library}: {files} "
             f"files in spaces {spaces}, {recycled} items in their recycle bins, file history "
             f"off. The manifest {MANIFEST_FILE} says what the library should hold.")
        _say(f"Everything happens in {workdir}, removed at the end. SMH_ENDPOINT points at the "
             "emulator; SMH_LIBRARY_SECRET holds a secret made up for this run, from which the "
             "tool mints tokens with only the grants each step needs.")
        _run("[1/4]", ["validate", MANIFEST_FILE],
             "Check the manifest against the schema and the rules, with no network call.")
        before_plan = _request_counts(emulator)
        _run("[2/4]", ["plan", MANIFEST_FILE, "--out", "plan.json"],
             "List what the rules need and diff it: `-` goes to the recycle bin, `!` is deleted "
             "permanently, `~` is maintenance, `?` is missing. A deleted directory is one item; "
             "paths an `exist` or `protect` entry keeps never appear, even where a purge "
             "pattern matches them.")
        _run("[3/4]", ["apply", "plan.json", "--auto-approve", "--report", "report.json"],
             f"The plan sent {_requests_since(emulator, before_plan)}. Apply exactly that plan: "
             "each item is re-checked, deleted in batches, then the bins are emptied; the "
             "report lists every item's outcome.",
             shown=render(read_plan_file("plan.json").plan, Format.TEXT))
        files, recycled = _library_facts(emulator)
        _run("[4/4]", ["plan", MANIFEST_FILE],
             f"The library now holds {files} files and {recycled} recycled items. Plan again: "
             f"nothing is left to do. Missing: {_missing(Path('plan.json'))}, reported on "
             "every plan, since apply only deletes.")
    return 0


@click.command("demo", epilog=epilog(
    ["smh-reconcile demo"],
    ["0  the demo ran to the end", "1  a step failed (the message says which)"]))
@click.pass_context
def command(ctx: click.Context) -> None:
    """Run validate, plan, apply and plan again against a local emulator with sample data."""
    ctx.exit(run_demo())
