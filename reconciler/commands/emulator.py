"""`smh-reconcile emulator`: run the local SMH emulator on loopback until stopped.

The first line on stdout is `listening on http://HOST:PORT` (flushed), so a script can start it
with `--port 0` and read the port. SIGINT and SIGTERM stop it quietly with exit code 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.commands import epilog
from reconciler.errors import ReconcileError

if TYPE_CHECKING:
    from types import FrameType

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (Python's default: 0.005)."""


def run(*, host: str, port: int, seed: Path | None, token_transport: str = "both") -> int:
    import gc
    import signal
    import threading
    from contextlib import ExitStack

    from reconciler.emulator import SAMPLE_SEED, Emulator, SeedError

    try:
        emulator = (Emulator.from_seed_file(seed, token_transport=token_transport)
                    if seed is not None
                    else Emulator.from_seed(SAMPLE_SEED, token_transport=token_transport))
    except SeedError as error:
        raise ReconcileError(f"invalid seed: {error}") from error
    # The seeded tree lives as long as the process: keep the collector from re-scanning it.
    gc.collect()
    gc.freeze()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Each request thread reads its body and writes its answer in several system calls, and
    # takes the GIL back after each. Behind a thread answering under the state lock (a
    # 1,000-item batch or a listing page: milliseconds of Python), it would wait up to the
    # interpreter's switch interval, 5 ms, for every one of them (the convoy effect), and the
    # latency it was given would grow by that. The process serves with a shorter one.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        with ExitStack() as stack:
            try:
                base_url = stack.enter_context(emulator.serve(host=host, port=port))
            except OSError as error:
                raise ReconcileError(
                    f"cannot listen on {host}:{port}: {error.strerror or error}") from error
            click.echo(f"listening on {base_url}")
            sys.stdout.flush()
            # A timed wait keeps the main thread responsive to the signal handlers.
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.setswitchinterval(interval)
    return 0


@click.command("emulator", epilog=epilog(
    ["smh-reconcile emulator --port 0 --seed seed.yaml   # prints: listening on http://..."],
    ["0  stopped (Ctrl-C or SIGTERM)", "1  an invalid seed, a port that is taken, a usage error"]))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--seed", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML seed file (default: a small built-in sample library).")
@click.option("--token-transport", type=click.Choice(["header", "query", "both"]),
              default="both", show_default=True,
              help="Where the emulator reads the access token: the Authorization: Bearer "
                   "header, the access_token query parameter, or either.")
def command(host: str, port: int, seed: Path | None, token_transport: str) -> None:
    """Run the local SMH emulator on loopback until interrupted."""
    raise SystemExit(run(host=host, port=port, seed=seed, token_transport=token_transport))
