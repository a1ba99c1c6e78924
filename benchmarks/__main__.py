"""`python -m benchmarks [--quick] [--full] [--repeat N] [--json FILE] [--markdown FILE]
[--only B1,B3,...]`

Builds synthetic libraries in the emulator (its own process), runs the real CLI against them
and prints each figure beside its bound and the ratio value / bound, with the machine it ran
on. For a cost (requests, time, memory) a ratio of at most 1 meets its bound; for a throughput
(items/s) a ratio of 1 reaches it. See `benchmarks/README.md`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import figures as fig
from .harness import compile_package, dump, machine, start_spawner

GROUPS = ("B1", "B2", "B3", "B5", "B6", "V", "E")


def table(figures: list[fig.Figure]) -> str:
    rows = [("figure", "what", "value", "bound", "ratio", "server ms/req", "notes")]
    for f in figures:
        rows.append((f.key, f.title, _number(f.value, f.unit),
                     _number(f.bound, f.unit) if f.bound is not None else "",
                     f"{f.ratio:.2f}" if f.ratio is not None else "",
                     f"{f.server_ms:.3f}" if f.server_ms is not None else "", f.note))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i]) for i in range(6)]
        lines.append("  ".join(cells) + "  " + row[6])
    return "\n".join(lines)


def markdown(figures: list[fig.Figure], host: dict[str, object]) -> str:
    lines = ["| figure | what | value | bound | ratio | server ms/req | notes |",
             "|---|---|---|---|---|---|---|"]
    for f in figures:
        lines.append("| " + " | ".join((
            f.key, f.title, _number(f.value, f.unit),
            _number(f.bound, f.unit) if f.bound is not None else "",
            f"{f.ratio:.2f}" if f.ratio is not None else "",
            f"{f.server_ms:.2f}" if f.server_ms is not None else "", f.note)) + " |")
    return "\n".join(lines) + "\n"


def _number(value: float, unit: str) -> str:
    if unit in ("requests", "x", "bytes", "files/s", "items/s", "requests/s"):
        text = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="small libraries, one run each: seconds, for CI")
    size.add_argument("--full", action="store_true",
                      help="also the 1,000,000-file plan (B3 at 50 ms, B4)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each timed figure; the median is shown (default 1)")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help='write {"B1a": {"value", "bound", "ratio", ...}, ...} to FILE')
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="write the table as Markdown to FILE")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups to run (default {','.join(GROUPS)}; "
                             "B2 gives B4 too, B3 gives B2 and B4, B1 the naive baseline; L, what "
                             "--full adds: the 1,000,000-file plan)")
    args = parser.parse_args(argv)
    sizes = fig.QUICK if args.quick else fig.DEFAULT
    groups = {g.strip().upper() for g in args.only.split(",") if g.strip()}
    if args.full:
        groups.add("L")
    spawner = start_spawner()  # while this process is small: see harness.SPAWNER
    compile_package()
    host = machine()
    print(f"machine: nproc {host['nproc']}, {host['cpu']}, {host['ram_gib']} GiB RAM, "
          f"Python {host['python']} (libyaml {'yes' if host['libyaml'] else 'no'}), "
          f"load average {' '.join(str(v) for v in host['load_average'])}", flush=True)
    started = time.perf_counter()
    results: list[fig.Figure] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="smh-bench-") as tmp:
        work = Path(tmp)
        steps: list[tuple[str, Callable[[], list[fig.Figure]]]] = [
                 ("B1", lambda: fig.b1(sizes, work)),
                 ("B2", lambda: fig.plan_figures(sizes, work, args.repeat,
                                                 timed="B3" in groups)),
                 ("L", lambda: fig.plan_figures(sizes, work, args.repeat, large=True)),
                 ("B5", lambda: fig.b5(sizes, work, args.repeat)),
                 ("B6", lambda: fig.b6(sizes, args.repeat)),
                 ("V", lambda: fig.startup_figures(sizes, args.repeat)),
                 ("E", lambda: fig.emulator_figures(work))]
        for group, step in steps:
            if group in groups or (group == "B2" and "B3" in groups):
                try:
                    done = step()
                except Exception as error:  # one broken group must not lose the others
                    print(f"{group} failed: {type(error).__name__}: {error}", file=sys.stderr,
                          flush=True)
                    failed.append(group)
                    continue
                results.extend(done)
                for figure in done:
                    print(f"  {figure.key}: {_number(figure.value, figure.unit)}", flush=True)
    spawner.close()
    host["load_average_after"] = [round(v, 2) for v in __import__("os").getloadavg()]
    print()
    print(table(results))
    print(f"\n{len(results)} figures in {time.perf_counter() - started:.0f} s; load average "
          f"after {' '.join(str(v) for v in host['load_average_after'])}")
    if args.json:
        dump(args.json, {"machine": host, **{f.key: f.to_json() for f in results}})
    if args.markdown:
        args.markdown.write_text(markdown(results, host), encoding="utf-8")
    failures = fig.missed(results) + [f"{group} did not finish" for group in failed]
    for failure in failures:
        print(f"MISSED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
