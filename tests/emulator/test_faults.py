"""Fault injection: latency, injected errors with Retry-After, drops (in process and over real
loopback), rate limiting, reproducible random streams, and the faults endpoint itself."""

from __future__ import annotations

import time

import httpx
import pytest

from reconciler.emulator import Emulator

from .support import ADMIN, api, error_code


def test_faults_endpoint_replaces_and_clears(anon: httpx.Client, emu: Emulator) -> None:
    set_ = anon.post("/_emulator/faults", json={"error_rate": 0.5, "task_polls": 3})
    assert set_.status_code == 200
    assert set_.json()["error_rate"] == 0.5
    assert anon.get("/_emulator/faults").json()["task_polls"] == 3
    replaced = anon.post("/_emulator/faults", json={"latency_ms": 1}).json()
    assert (replaced["error_rate"], replaced["task_polls"], replaced["latency_ms"]) == (0, 1, 1)
    cleared = anon.post("/_emulator/faults", json={}).json()
    assert cleared["latency_ms"] == 0 and cleared["error_statuses"] == [429, 503]
    assert emu.faults.async_threshold == 100


@pytest.mark.parametrize("body", [
    {"error_rate": 2}, {"nonsense": 1}, {"drop_phase": "during"}, {"error_statuses": [200]},
    {"fail_paths": {"a": {"status": "x"}}}, {"rate_limit": 0}, {"async_threshold": 0}])
def test_bad_fault_settings(anon: httpx.Client, body: dict[str, object]) -> None:
    response = anon.post("/_emulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "ParamInvalid"


def test_injected_errors_carry_codes_and_retry_after(emu: Emulator,
                                                     client: httpx.Client) -> None:
    emu.set_faults({"error_rate": 1.0, "error_statuses": [503], "retry_after_s": 2})
    response = client.get(api("directory"))
    assert error_code(response) == (503, "ServerOverloaded")
    assert response.headers["Retry-After"] == "2"
    emu.set_faults({"error_rate": 1.0, "error_statuses": [500]})
    response = client.delete(api("file", "hello.txt"))
    assert error_code(response) == (500, "InternalServerError")
    assert "Retry-After" not in response.headers
    emu.set_faults({"error_rate": 1.0, "error_statuses": [429]})
    assert error_code(client.get(api("directory"))) == (429, "RateLimitExceeded")
    # Injected errors happen before any effect.
    assert "hello.txt" in emu.state()["spaces"]["-"]["paths"]
    # Control endpoints are never faulted nor counted.
    assert client.get("/_emulator/state").status_code == 200
    assert emu.stats()["total"] == 3


def test_error_rate_is_reproducible_with_seed(emu: Emulator, client: httpx.Client) -> None:
    def run() -> list[int]:
        emu.set_faults({"error_rate": 0.5, "seed": 42})
        return [client.get(api("directory")).status_code for _ in range(40)]
    first = run()
    assert first == run()
    assert 200 in first and set(first) - {200} <= {429, 503} and len(set(first)) > 1


def test_latency_and_jitter(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"latency_ms": 30, "jitter_ms": 20, "seed": 1})
    started = time.perf_counter()
    client.get(api("directory"))
    elapsed = time.perf_counter() - started
    assert 0.03 <= elapsed < 1.0


def test_drop_after_takes_effect_in_process(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        client.delete(api("file", "hello.txt"))
    assert "hello.txt" not in emu.state()["spaces"]["-"]["paths"]
    log = emu.request_log()[-1]
    assert (log["status"], log["dropped"]) == (200, True)


def test_drop_before_has_no_effect_in_process(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"drop_rate": 1.0, "drop_phase": "before"})
    with pytest.raises(httpx.RemoteProtocolError):
        client.delete(api("file", "hello.txt"))
    assert "hello.txt" in emu.state()["spaces"]["-"]["paths"]
    assert emu.request_log()[-1]["status"] is None


@pytest.mark.e2e
def test_drops_over_real_loopback(emu: Emulator) -> None:
    emu.set_faults({"drop_rate": 1.0})
    with emu.serve() as base_url, httpx.Client(base_url=base_url,
                                                params={"access_token": ADMIN}) as c:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            c.delete(api("file", "hello.txt"))
        assert "hello.txt" not in emu.state()["spaces"]["-"]["paths"]
        emu.set_faults({"drop_rate": 1.0, "drop_phase": "before"})
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            c.delete(api("file", "docs", "handbook.pdf"))
        assert "docs/handbook.pdf" in emu.state()["spaces"]["-"]["paths"]
        c.post("/_emulator/faults", json={})
        # The server is still healthy and the client recovers on a fresh connection.
        assert c.delete(api("file", "docs", "handbook.pdf")).status_code == 200


def test_rate_limit_token_bucket(emu: Emulator, client: httpx.Client) -> None:
    emu.set_faults({"rate_limit": 2})
    statuses = [client.get(api("directory")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get(api("directory"))
    assert error_code(limited) == (429, "RateLimitExceeded")
    assert int(limited.headers["Retry-After"]) >= 1
    emu.clock.advance(1.0)
    assert client.get(api("directory")).status_code == 200
