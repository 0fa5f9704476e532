"""Adversarial review, publishing to Quetz (issue 13, item 5): the API key stays with its server.

No packet leaves the machine. Two loopback addresses stand for two hosts: 127.0.0.1 is the Quetz
server named in the target, 127.0.0.2 is "another host". Both are small ``http.server`` threads:
what they stand for (a server or proxy that answers with a redirect to somewhere else) cannot be
made out of a real quetz-server, whose own behaviour tests/channel/test_publish.py covers. The plain-http
case runs in a subprocess inside ``unshare -n`` (no network at all) with an audit hook that records
every name lookup and connection attempt: the refusal must come before any of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fastconda.channel.publish import publish
from fastconda.channel.quetz import parse_quetz_target
from fastconda.errors import PublishError
from tests.helpers import make_conda

KEY = "secret-api-key-0123456789"
Answer = tuple[int, dict[str, str], bytes]


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class Host:
    """An HTTP server on one loopback address that records every request it gets."""

    def __init__(self, address: str) -> None:
        self.seen: list[Seen] = []
        self.answer: Callable[[str, str], Answer] = lambda method, path: (404, {}, b'{"detail": "no"}')
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                host.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
                status, headers, body = host.answer(self.command, self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def keys_seen(self) -> list[str]:
        return [s.path for s in self.seen if any(k.lower() == "x-api-key" for k in s.headers)]


@pytest.fixture
def home() -> Iterator[Host]:
    """The server the target names (127.0.0.1)."""
    host = Host("127.0.0.1")
    yield host
    host.close()


@pytest.fixture
def elsewhere() -> Iterator[Host]:
    """Another host (127.0.0.2): it must never see the API key."""
    host = Host("127.0.0.2")
    host.answer = lambda method, path: (200, {"Content-Type": "application/json"}, b"[]")
    yield host
    host.close()


def quetz_like(redirects: dict[tuple[str, str], str]) -> Callable[[str, str], Answer]:
    """Answer as Quetz does to a key that may upload, except for the (method, path prefix) in *redirects*."""

    def answer(method: str, path: str) -> Answer:
        for (verb, prefix), location in redirects.items():
            if method == verb and path.startswith(prefix):
                return 302, {"Location": location + path}, b""
        if method == "GET" and (path == "/api/api-keys" or path.startswith("/api/channels/")):
            return 200, {"Content-Type": "application/json"}, b"[]"
        if method == "POST" and "/upload/" in path:
            return 201, {}, b""
        return 404, {"Content-Type": "application/json"}, b'{"detail": "Not Found"}'

    return answer


def test_the_api_key_is_never_sent_to_the_host_a_redirect_points_to(
    home: Host, elsewhere: Host, tmp_path: Path
) -> None:
    home.answer = lambda method, path: (307, {"Location": elsewhere.url + path}, b"")
    pkg = make_conda(tmp_path, "alpha")
    with pytest.raises(PublishError) as info:
        publish([pkg], f"quetz+{home.url}/facility", api_key=KEY, index_wait=0)
    message = str(info.value)
    assert "redirect" in message and elsewhere.url in message  # says where it pointed
    assert "\n" not in message
    assert elsewhere.keys_seen() == []
    assert elsewhere.seen == []  # no request at all follows a redirect with the key


def test_a_redirected_upload_is_an_error_never_added(home: Host, elsewhere: Host, tmp_path: Path) -> None:
    # urllib turns a POST answered by 302 into a GET to the new place: a 200 there is no upload
    home.answer = quetz_like({("POST", "/api/channels/facility/upload/"): elsewhere.url})
    pkg = make_conda(tmp_path, "alpha")
    with pytest.raises(PublishError, match=r"uploading alpha-1\.0-0\.conda.*redirect") as info:
        publish([pkg], f"quetz+{home.url}/facility", api_key=KEY, index_wait=0)
    assert elsewhere.url in str(info.value)
    assert elsewhere.seen == []
    assert [s.method for s in home.seen if "/upload/" in s.path] == ["POST"]


def test_a_download_redirect_is_followed_without_the_key(home: Host, elsewhere: Host, tmp_path: Path) -> None:
    # Quetz with an object store answers /get/... with a redirect to a signed URL: the file is fetched
    # from there, without the key, to compare it with ours
    pkg = make_conda(tmp_path, "alpha")
    home.answer = quetz_like({("GET", "/get/"): elsewhere.url})
    elsewhere.answer = lambda method, path: (200, {}, pkg.read_bytes())
    result = publish([pkg], f"quetz+{home.url}/facility", api_key=KEY, index_wait=0)
    assert [p.state for p in result.packages] == ["unchanged"]
    assert result.packages[0].sha256 == hashlib.sha256(pkg.read_bytes()).hexdigest()
    assert [s.path for s in elsewhere.seen] == ["/get/facility/noarch/alpha-1.0-0.conda"]
    assert elsewhere.keys_seen() == []


@pytest.mark.parametrize(
    "target", ["quetz+http://localhost:8000/facility", "quetz+http://127.0.0.2/x", "quetz+http://[::1]:80/x"]
)
def test_plain_http_to_loopback_is_allowed(target: str) -> None:
    assert parse_quetz_target(target).channel in ("facility", "x")


SPY = """
import sys
events = []
def spy(event, args):
    if event in ("socket.getaddrinfo", "socket.connect", "socket.gethostbyname", "socket.sendto"):
        events.append(f"{event}{args[1:] if event == 'socket.connect' else args}")
sys.addaudithook(spy)
from fastconda.cli import main
code = main(["publish", sys.argv[1], "--to", sys.argv[2], "--timeout", "5", "--index-wait", "0"])
print("NETWORK:", events, file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    "target",
    [
        "quetz+http://quetz.example.org/facility",
        "quetz+http://192.0.2.7:8000/facility",
        "quetz+http://127.0.0.1.example.org/facility",  # a name, not a loopback address
        "quetz+http://[::ffff:192.0.2.7]/facility",
    ],
)
def test_plain_http_to_another_host_is_refused_before_any_connection(tmp_path: Path, target: str) -> None:
    pkg = make_conda(tmp_path, "alpha")
    isolate = ["unshare", "-n"] if os.geteuid() == 0 and shutil.which("unshare") else []
    done = subprocess.run(
        [*isolate, sys.executable, "-c", SPY, str(pkg), target],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "QUETZ_API_KEY": KEY},
        timeout=60,
    )
    errors = [line for line in done.stderr.splitlines() if not line.startswith("NETWORK:")]
    assert done.returncode == 1, done.stderr
    assert "NETWORK: []" in done.stderr  # no lookup, no connection attempt
    assert len(errors) == 1, errors
    assert "quetz+https://" in errors[0] and "in clear" in errors[0]
    assert KEY not in done.stderr
