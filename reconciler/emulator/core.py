"""The emulator's core: the `Emulator` facade and the request pipeline, free of any HTTP server.

`Emulator.handle` takes an `HttpRequest` (method, raw target, headers, body) and returns an
`HttpResponse`: it parses the target, counts and logs the request, applies the configured
faults and routes it to the endpoint modules (`api_content`, `api_recycled`, `api_library`),
which work on the `state.Library`. The adapters in `server` turn `handle` into a WSGI app, an
httpx transport and a loopback server.

All state sits behind one lock, so the threaded server is safe; injected latency is slept
outside the lock so slow requests do not serialise the others.

The choices made where SMH's documentation is silent are listed in this package's README
("Choices where the docs are silent").
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx

from reconciler import wirejson

from . import api_content, api_library, api_recycled, server
from .clock import Clock, ClockLike, as_clock
from .errors import STATUS_CODES, ApiError
from .faults import Faults, FaultsError, TokenBucket
from .http import HttpRequest, HttpResponse
from .seed import Seed, SeedError, load_seed_file, parse_seed, seed_entry
from .state import Call, Library, Reply, error_doc

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
# The request log keeps the most recent entries only, so a long-running server stays bounded.
LOG_LIMIT = 100_000
REDACTED_PARAMS = frozenset({"access_token", "library_secret"})
ROUTES: dict[str, Callable[[Library, Call], Reply]] = {
    "token": api_library.route_token,
    "directory": api_content.route_directory,
    "file": api_content.route_file,
    "batch": api_content.route_batch,
    "task": api_library.route_task,
    "recycled": api_recycled.route_recycled,
    "directory-history": api_library.route_history,
    "space": api_library.route_space,
}


class Emulator:
    """An in-memory SMH library that answers SMH's business API (see the package README)."""

    def __init__(self, seed: Seed, *, clock: ClockLike | None = None,
                 token_transport: str = "both") -> None:
        """`token_transport`: where the server reads the access token: `header`
        (`Authorization: Bearer` only), `query` (`access_token` only) or `both`."""
        self.clock: Clock = as_clock(clock)
        self._lib = Library(seed, self.clock, token_transport)
        self._lock = threading.RLock()
        self._admit_lock = threading.Lock()
        """Held (after `_lock`, where both are) to count a request and draw its faults, so a
        request starts its latency without waiting for the one being answered."""
        self._rng = random.Random()
        self._bucket: TokenBucket | None = None
        self._stats: Counter[str] = Counter()
        self._total = 0
        # Per request kind: [seconds spent answering under the lock, first arrival, last answer]
        self._server: dict[str, list[float]] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_seed(cls, seed: Mapping[str, Any] | Seed, *, clock: ClockLike | None = None,
                  token_transport: str = "both") -> Emulator:
        parsed = seed if isinstance(seed, Seed) else parse_seed(seed)
        return cls(parsed, clock=clock, token_transport=token_transport)

    @classmethod
    def from_seed_file(cls, path: str | Path, *, clock: ClockLike | None = None,
                       token_transport: str = "both") -> Emulator:
        return cls(load_seed_file(path), clock=clock, token_transport=token_transport)

    # -- public API ---------------------------------------------------------------------------
    @property
    def library(self) -> str:
        return self._lib.seed.library

    @property
    def secret(self) -> str:
        return self._lib.seed.secret

    @property
    def admin_token(self) -> str | None:
        return self._lib.seed.token

    @property
    def seed(self) -> Seed:
        return self._lib.seed

    @property
    def token_transport(self) -> str:
        """Where the server reads the access token: `header`, `query` or `both`."""
        return self._lib.token_transport

    @token_transport.setter
    def token_transport(self, value: str) -> None:
        with self._lock:
            self._lib.set_token_transport(value)

    @property
    def faults(self) -> Faults:
        return self._lib.faults

    def state(self) -> dict[str, Any]:
        """The `GET /_emulator/state` document."""
        with self._lock:
            return self._lib.state()

    def stats(self) -> dict[str, Any]:
        """The `GET /_emulator/stats` document."""
        with self._lock, self._admit_lock:
            return {"total": self._total, "requests": dict(sorted(self._stats.items())),
                    "server_seconds": sum(entry[0] for entry in self._server.values()),
                    "server": {key: {"seconds": seconds, "first": first, "last": last}
                               for key, (seconds, first, last) in sorted(self._server.items())}}

    def request_log(self) -> list[dict[str, Any]]:
        """The `GET /_emulator/log` document: every API request so far (the latest 100,000),
        in order."""
        with self._lock:
            return [{**entry, "body": _logged_body(entry["body"])} for entry in self._log]

    def set_faults(self, faults: Mapping[str, Any] | Faults) -> Faults:
        """Replace the whole fault configuration (`{}` clears it)."""
        parsed = faults if isinstance(faults, Faults) else Faults.from_dict(faults)
        with self._lock, self._admit_lock:
            self._lib.faults = parsed
            self._rng = random.Random(parsed.seed)
            self._bucket = (TokenBucket(parsed.rate_limit, self.clock.now())
                            if parsed.rate_limit else None)
        return parsed

    def write_files(self, space: str, entries: list[Any]) -> None:
        """Create or overwrite files (`path` or `{path, size, mtime}` entries) as another
        client of the library would; what tests use to change a library behind a plan."""
        parsed = [seed_entry(entry, f"files[{index}]") for index, entry in enumerate(entries)]
        with self._lock:
            target = self._lib.spaces.get(space)
            if target is None:
                raise SeedError(f"no space {space!r}")
            for path, attributes in parsed:
                size, mtime = attributes or (None, None)
                self._lib.write_file(target, path, size, mtime)

    def set_recycle_bin(self, enabled: bool) -> None:
        """Turn the library's recycle bin on or off, as its administrator might between a
        plan and its apply (`reset` restores the seed's setting)."""
        with self._lock:
            self._lib.recycle_bin = enabled

    def reset(self) -> None:
        """Library state back to the seed; stats, log, tasks and faults cleared.
        Issued tokens stay valid."""
        with self._lock:
            self._lib.load_seed_state()
            self._lib.restore_admin_token()
            with self._admit_lock:
                self._stats.clear()
                self._total = 0
            self._server.clear()
            self._log.clear()
            self.set_faults(Faults())

    def transport(self) -> httpx.BaseTransport:
        """An in-process httpx transport answering from this emulator."""
        return server.EmulatorTransport(self)

    @property
    def wsgi_app(self) -> Callable[..., Any]:
        return server.make_wsgi_app(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """Serve on loopback from a background thread (threaded); yields the base URL."""
        return server.serve(self, host=host, port=port)

    # -- request handling ---------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = secrets.token_hex(16)
        raw_path, _, raw_query = request.target.partition("?")
        segments = [s for s in unquote(raw_path).split("/") if s]
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        method = request.method.upper()
        head = method == "HEAD"
        if segments[:1] == ["_emulator"]:
            return self._render(self._control(method, segments[1:], request.body), request_id,
                                head=head)
        if len(segments) < 3 or segments[:2] != ["api", "v1"]:
            reply = Reply(404, error_doc(ApiError(404, "RouteNotFound")))
            return self._render(reply, request_id, head=head)
        call = Call(method, segments[2], segments[3:], query, request.headers, request.body)
        call.parse_body()  # a batch body is a thousand items: decoded outside the lock

        arrived = time.monotonic()
        delay, injected, drop = self._admit(call)
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            started = time.perf_counter()
            if drop == "before":
                self._record(call, None, dropped=True)
                self._time(call, arrived, started)
                return HttpResponse(0, [], drop=True)
            if injected is not None:
                reply = Reply(injected.status, error_doc(injected), dict(injected.headers))
            else:
                reply = self._dispatch(call)
            self._record(call, reply.status, dropped=drop == "after")
            self._time(call, arrived, started)
        if drop == "after":
            return HttpResponse(0, [], drop=True)
        return self._render(reply, request_id, head=head)

    def _admit(self, call: Call) -> tuple[float, ApiError | None, str | None]:
        """Count the request and decide its faults: (latency, injected error, drop phase)."""
        with self._admit_lock:
            self._total += 1
            self._stats[f"{call.method} /api/v1/{call.resource}"] += 1
            faults = self._lib.faults
            delay = faults.latency_ms / 1000.0
            if faults.jitter_ms:
                delay += self._rng.uniform(0, faults.jitter_ms) / 1000.0
            if self._bucket is not None:
                wait = self._bucket.take(self.clock.now())
                if wait > 0:
                    retry = faults.retry_after_s if faults.retry_after_s is not None else wait
                    return delay, ApiError(429, "RateLimitExceeded", headers={
                        "Retry-After": str(max(1, math.ceil(retry)))}), None
            if faults.error_rate and self._rng.random() < faults.error_rate:
                status = self._rng.choice(faults.error_statuses)
                headers = ({"Retry-After": str(max(0, math.ceil(faults.retry_after_s)))}
                           if faults.retry_after_s is not None else {})
                return delay, ApiError(status, STATUS_CODES.get(status, "InternalServerError"),
                                       headers=headers), None
            if faults.drop_rate and self._rng.random() < faults.drop_rate:
                return delay, None, faults.drop_phase
            return delay, None, None

    def _dispatch(self, call: Call) -> Reply:
        route = ROUTES.get(call.resource)
        try:
            if route is None:
                raise ApiError(404, "RouteNotFound")
            return route(self._lib, call)
        except ApiError as error:
            return Reply(error.status, error_doc(error), dict(error.headers))
        except Exception as error:
            # A bug here must look like a server failure to the client, not hang or kill the
            # serving thread; the traceback goes to the log for whoever runs the emulator.
            logger.exception("emulator failed on %s /api/v1/%s", call.method, call.resource)
            return Reply(500, error_doc(ApiError(500, "InternalServerError",
                                                 f"Emulator error: {type(error).__name__}.")))

    def _time(self, call: Call, arrived: float, started: float) -> None:
        """Add this request's time under the lock to its kind's server time (lock held)."""
        key = f"{call.method} /api/v1/{call.resource}"
        spent = time.perf_counter() - started
        entry = self._server.get(key)
        if entry is None:
            self._server[key] = [spent, arrived, time.monotonic()]
        else:
            entry[0] += spent
            entry[1] = min(entry[1], arrived)
            entry[2] = time.monotonic()

    def _record(self, call: Call, status: int | None, *, dropped: bool) -> None:
        # The body is kept as it came and parsed when the log is read, not while the lock
        # is held for every request (a batch's is a thousand items).
        self._log.append({
            "method": call.method,
            "route": call.resource,
            "space": call.space,
            "path": call.path,
            "query": {k: ("***" if k in REDACTED_PARAMS else v) for k, v in call.query.items()},
            "body": call.body,
            "status": status,
            "dropped": dropped,
        })

    def _render(self, reply: Reply, request_id: str, *, head: bool) -> HttpResponse:
        # The server's time, as SMH sends it: what a plan measures ages against.
        headers = [("X-Request-Id", request_id),
                   ("Date", email.utils.formatdate(self.clock.now(), usegmt=True))]
        headers.extend(reply.headers.items())
        body = b""
        if reply.raw is not None:
            body = reply.raw
            headers.append(("Content-Type", JSON_TYPE))
        elif reply.doc is not None:
            if isinstance(reply.doc, dict) and "requestId" in reply.doc:
                reply.doc["requestId"] = request_id
            body = wirejson.dumps(reply.doc)
            headers.append(("Content-Type", JSON_TYPE))
        if head:
            return HttpResponse(reply.status, headers, b"", length=len(body))
        return HttpResponse(reply.status, headers, body)

    # -- /_emulator ---------------------------------------------------------------------------
    def _control(self, method: str, parts: list[str], body: bytes) -> Reply:
        name = "/".join(parts)
        reading = method in ("GET", "HEAD")
        if reading and name == "state":
            return Reply(200, self.state())
        if reading and name == "stats":
            return Reply(200, self.stats())
        if reading and name == "log":
            return Reply(200, self.request_log())
        if reading and name == "faults":
            return Reply(200, self.faults.to_dict())
        if method == "POST" and name == "faults":
            try:
                doc = wirejson.loads(body) if body.strip() else {}
                faults = self.set_faults(doc)
            except (ValueError, FaultsError, TypeError) as error:
                return Reply(400, error_doc(ApiError(400, "ParamInvalid", str(error))))
            return Reply(200, faults.to_dict())
        if method == "POST" and name == "files":
            try:
                doc = wirejson.loads(body)
                self.write_files(str(doc["space"]), list(doc["files"]))
            except (ValueError, KeyError, TypeError, SeedError, ApiError) as error:
                return Reply(400, error_doc(ApiError(400, "ParamInvalid", str(error))))
            return Reply(204)
        if method == "POST" and name == "reset":
            self.reset()
            return Reply(204)
        return Reply(404, error_doc(ApiError(404, "RouteNotFound")))


def _logged_body(body: bytes) -> Any:
    """A logged request's body as the log shows it: parsed JSON, or None."""
    try:
        return wirejson.loads(body) if body.strip() else None
    except ValueError:
        return None
