"""`smh-reconcile emulator` as a real process: first line, serving, clean stop, bad seeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "reconciler"]


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "0"}
    return subprocess.Popen([*CLI, "emulator", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_emulator_command_serves_until_signalled(tmp_path: Path, stop: signal.Signals) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("library: cmdlib\nsecret: s\ntoken: tok\nspaces:\n  '-': [a/b.txt]\n",
                    encoding="utf-8")
    process = start("--port", "0", "--seed", str(seed))
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        base_url = first.removeprefix("listening on ")
        response = httpx.get(f"{base_url}/api/v1/directory/cmdlib/-/a",
                             params={"access_token": "tok"}, timeout=5)
        assert [i["name"] for i in response.json()["contents"]] == ["b.txt"]
        assert httpx.get(f"{base_url}/_emulator/stats", timeout=5).json()["total"] == 1
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_emulator_command_without_seed_uses_sample() -> None:
    process = start("--port", "0")
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().removeprefix("listening on ")
        state = httpx.get(f"{base_url}/_emulator/state", timeout=5).json()
        assert "docs/handbook.pdf" in state["spaces"]["-"]["paths"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_emulator_command_rejects_broken_seed(tmp_path: Path) -> None:
    seed = tmp_path / "broken.yaml"
    seed.write_text("library: x\nspaces: [\n", encoding="utf-8")
    started = time.monotonic()
    result = subprocess.run([*CLI, "emulator", "--seed", str(seed)], capture_output=True,
                            text=True, timeout=30)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "broken.yaml:3:1" in lines[0]
    assert "Traceback" not in result.stderr


def test_emulator_command_reports_a_busy_port() -> None:
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*CLI, "emulator", "--port", str(port)],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"]


@pytest.mark.parametrize(("reads", "header_status", "query_status"), [
    ("header", 200, 400), ("query", 400, 200), ("both", 200, 200),
])
def test_emulator_command_reads_the_token_where_told(
    tmp_path: Path, reads: str, header_status: int, query_status: int
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("library: cmdlib\nsecret: s\ntoken: tok\nspaces:\n  '-': [a/b.txt]\n",
                    encoding="utf-8")
    process = start("--port", "0", "--seed", str(seed), "--token-transport", reads)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().removeprefix("listening on ")
        url = f"{base_url}/api/v1/directory/cmdlib/-/a"
        by_header = httpx.get(url, headers={"Authorization": "Bearer tok"}, timeout=5)
        by_query = httpx.get(url, params={"access_token": "tok"}, timeout=5)
        assert (by_header.status_code, by_query.status_code) == (header_status, query_status)
        refused = by_header if header_status == 400 else by_query
        if refused.status_code == 400:
            assert refused.json()["code"] == "EmptyAccessToken"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
