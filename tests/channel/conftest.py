"""A real Quetz server on loopback (SQLite, local package store), one per test session.

quetz-server lives in its own venv (``.cache/quetz-venv``, made by ``python -m tests.fetch_quetz``
before the tests go offline). Without it the Quetz tests skip with the reason the install failed
(fail, under ``FASTCONDA_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_component
from tests.fetch_quetz import QUETZ_VENV, UNAVAILABLE, is_ready, quetz_executable

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class QuetzServer:
    base_url: str
    channel: str
    key: str
    outsider_key: str
    log: Path

    @property
    def target(self) -> str:
        return "quetz+" + self.base_url + "/" + self.channel

    @property
    def channel_url(self) -> str:
        return f"{self.base_url}/get/{self.channel}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quetz_or_skip() -> Path:
    if is_ready():
        return quetz_executable()
    if UNAVAILABLE.is_file():
        missing_component(f"quetz-server could not be installed: {UNAVAILABLE.read_text().strip()}")
    return missing_component(f"quetz-server is not in {QUETZ_VENV}: run `python -m tests.fetch_quetz` first")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def quetz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuetzServer]:
    quetz = _quetz_or_skip()
    root = tmp_path_factory.mktemp("quetz")
    deployment = root / "deployment"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUETZ_")}
    env["QUETZ_CONFIG_FILE"] = str(deployment / "config.toml")
    _run([str(quetz), "create", str(deployment), "--create-conf"], root, env)
    config = deployment / "config.toml"
    config.write_text(config.read_text().replace("https_only = true", "https_only = false"))
    key, outsider = uuid.uuid4().hex, uuid.uuid4().hex
    python = str(QUETZ_VENV / "bin" / "python")
    _run([python, str(HERE / "quetz_seed.py"), "facility", key, outsider], deployment, env)

    port = _free_port()
    log = root / "quetz.log"
    argv = [str(quetz), "start", str(deployment), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--no-supervisor", "--log-level", "warning"]
    with log.open("w") as out:
        server = subprocess.Popen(argv, cwd=deployment, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        handle = QuetzServer(base, "facility", key, outsider, log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if handle.get("/api/channels")[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"quetz did not start (exit {server.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield handle
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
