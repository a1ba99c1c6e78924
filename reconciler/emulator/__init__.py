"""A self-contained SMH (Smart Media Hosting) server for tests, demos and benchmarks.

It owns an in-memory media library (spaces, directory trees, recycle bins, tokens, tasks,
history settings) and answers SMH's business API as the public SMH docs and SDKs describe
it, plus the `/_emulator/` control endpoints (state, stats, log, faults, reset). It imports
nothing else from `reconciler`, so it can serve any client.

    emu = Emulator.from_seed({"library": "lib", "secret": "s", "spaces": {"-": ["a/b.txt"]}})
    client = httpx.Client(transport=emu.transport(), base_url="https://lib.api.tencentsmh.cn")
    with emu.serve() as base_url:            # real loopback HTTP
        ...

The behaviours chosen where SMH's documentation is silent are listed in README.md next to this
file.
"""

from .clock import Clock, ClockLike
from .core import Emulator
from .errors import ApiError
from .faults import Faults, FaultsError
from .http import HttpRequest, HttpResponse
from .seed import SAMPLE_SEED, Seed, SeedError, load_seed_file, parse_seed

__all__ = [
    "SAMPLE_SEED",
    "ApiError",
    "Clock",
    "ClockLike",
    "Emulator",
    "Faults",
    "FaultsError",
    "HttpRequest",
    "HttpResponse",
    "Seed",
    "SeedError",
    "load_seed_file",
    "parse_seed",
]
