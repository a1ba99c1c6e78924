"""`smh-reconcile demo`: the whole flow against an embedded emulator and bundled sample data.

Owns the walkthrough: it serves the sample library (`reconciler/data/demo-seed.yaml`) from an
emulator on an ephemeral loopback port, then runs validate, plan, apply and plan again on the
bundled `demo.yaml`, narrating each step as the command line a user would type, and calling
each command with its own environment and folder (the process's are left as they are). Everything
it writes (the manifest copy, the plan file, the report, the apply journal) goes to a temporary
folder that is removed at the end; the credentials are made up per run and never printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import click

from reconciler.commands import epilog, print_error
from reconciler.commands.apply import apply
from reconciler.commands.plan import plan
from reconciler.commands.validate import validate
from reconciler.errors import ReconcileError
from reconciler.options import ENDPOINT_ENV, Format
from reconciler.shipped import shipped_text

if TYPE_CHECKING:
    from reconciler.emulator import Emulator

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
    return shipped_text("data", name)


def demo_emulator(*, secret: str, admin_token: str) -> Emulator:
    """The sample library, with this run's credentials and items already in the bins."""
    import httpx
    import yaml

    from reconciler.emulator import Emulator

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


def _say(text: str, *, indent: str = "") -> None:
    import textwrap

    click.echo(textwrap.fill(text, width=94, initial_indent=indent, subsequent_indent=indent))


def _run(step: str, args: Sequence[str], why: str, call: Callable[[TextIO | None], int], *,
         shown: str | None = None) -> None:
    """Run one `smh-reconcile` command, as a user would type it (`args`), by calling it.

    `shown` is a plan an earlier step printed: where the command starts by printing it again,
    a line pointing back at it stands in for the copy."""
    import shlex

    click.echo()
    click.secho(f"{step} $ smh-reconcile {shlex.join(args)}", bold=True)
    _say(why, indent="      ")
    click.echo()
    try:
        if shown is None:
            code = call(None)
        else:
            captured = io.StringIO()
            try:
                code = call(captured)
            finally:
                output = captured.getvalue()
                if output.startswith(shown):
                    output = "(the plan shown in the step before)\n" + output[len(shown):]
                click.echo(output, nl=False)
    except ReconcileError as error:
        print_error(error)
        code = error.exit_code
    if code != 0:
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
    import secrets

    return secrets.token_urlsafe(24)


def demo_environment(env: Mapping[str, str], *, url: str, secret: str) -> dict[str, str]:
    """`env` for the demo's commands: the emulator's endpoint and this run's secret, and
    none of the caller's own credentials."""
    from reconciler.auth import ACCESS_TOKEN_ENV, LIBRARY_SECRET_ENV

    kept = {name: value for name, value in env.items()
            if name not in (ENDPOINT_ENV, LIBRARY_SECRET_ENV, ACCESS_TOKEN_ENV)}
    return {**kept, ENDPOINT_ENV: url, LIBRARY_SECRET_ENV: secret}


def run_demo(env: Mapping[str, str]) -> int:
    """The walkthrough, its commands given their own environment (from `env`) and folder."""
    import tempfile

    secret, admin_token = made_up_secret(), made_up_secret()
    emulator = demo_emulator(secret=secret, admin_token=admin_token)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(emulator.serve(host="127.0.0.1", port=0))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="smh-reconcile-demo-")))
        (workdir / MANIFEST_FILE).write_text(bundled(MANIFEST_FILE), encoding="utf-8")
        _introduce(emulator, url, workdir)
        _walk_through(emulator, workdir, demo_environment(env, url=url, secret=secret))
    return 0


def _introduce(emulator: Emulator, url: str, workdir: Path) -> None:
    spaces = " and ".join(sorted(emulator.state()["spaces"]))
    files, recycled = _library_facts(emulator)
    click.secho("smh-reconcile demo", bold=True)
    _say(f"An SMH emulator at {url} serves the sample library {emulator.library}: {files} "
         f"files in spaces {spaces}, {recycled} items in their recycle bins, file history "
         f"off. The manifest {MANIFEST_FILE} says what the library should hold.")
    _say(f"Everything happens in {workdir}, removed at the end. SMH_ENDPOINT points at the "
         "emulator; SMH_LIBRARY_SECRET holds a secret made up for this run, from which the "
         "tool mints tokens with only the grants each step needs.")


def _walk_through(emulator: Emulator, workdir: Path, env: Mapping[str, str]) -> None:
    from reconciler.files import read_plan_file
    from reconciler.render import render

    _run("[1/4]", ["validate", MANIFEST_FILE],
         "Check the manifest against the schema and the rules, with no network call.",
         lambda out: validate([MANIFEST_FILE], cwd=workdir))
    before_plan = _request_counts(emulator)
    _run("[2/4]", ["plan", MANIFEST_FILE, "--out", "plan.json"],
         "List what the rules need and diff it: `-` goes to the recycle bin, `!` is deleted "
         "permanently, `~` is maintenance, `?` is missing. A deleted directory is one item; "
         "paths an `exist` or `protect` entry keeps never appear, even where a purge "
         "pattern matches them.",
         lambda out: plan([MANIFEST_FILE], env=env, cwd=workdir, out="plan.json"))
    _run("[3/4]", ["apply", "plan.json", "--auto-approve", "--report", "report.json"],
         f"The plan sent {_requests_since(emulator, before_plan)}. Apply exactly that plan: "
         "each item is re-checked, deleted in batches, then the bins are emptied; the "
         "report lists every item's outcome.",
         lambda out: apply(["plan.json"], env=env, cwd=workdir, auto_approve=True,
                           report_file="report.json", out=out),
         shown=render(read_plan_file(workdir / "plan.json").plan, Format.TEXT))
    files, recycled = _library_facts(emulator)
    _run("[4/4]", ["plan", MANIFEST_FILE],
         f"The library now holds {files} files and {recycled} recycled items. Plan again: "
         f"nothing is left to do. Missing: {_missing(workdir / 'plan.json')}, reported on "
         "every plan, since apply only deletes.",
         lambda out: plan([MANIFEST_FILE], env=env, cwd=workdir))


@click.command("demo", epilog=epilog(
    ["smh-reconcile demo"],
    ["0  the demo ran to the end", "1  a step failed (the message says which)"]))
@click.pass_context
def command(ctx: click.Context) -> None:
    """Run validate, plan, apply and plan again against a local emulator with sample data."""
    ctx.exit(run_demo(os.environ))
