"""Publishing to a Quetz server: its upload API, with the API key kept on the server it belongs to.

``quetz+https://host[/prefix]/CHANNEL`` (or ``quetz+http://`` on loopback):
``POST /api/channels/{channel}/upload/{filename}?sha256=...`` with the body being the package and the
API key in the ``X-API-Key`` header (from ``QUETZ_API_KEY``).

The key goes to the server named in the target and nowhere else: plain http is refused unless that
server is on this machine (the key would cross the network in clear), and no request that carries
the key follows a redirect (urllib would re-send the key to wherever it points, and turn a redirected
upload into a GET that "succeeds"): a redirect is an error that says where it pointed. Only a
download (``/get/...``, which Quetz may redirect to an object store's signed URL) follows one, without
the key. When Quetz refuses package k of N, the k-1 packages this run uploaded are deleted again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import ipaddress
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from fastconda.channel import local as channels
from fastconda.channel.publish import API_KEY_ENV, PublishedPackage, State, conflict_message, published
from fastconda.errors import PublishError
from fastconda.progress import Progress, ProgressEvent


@dataclasses.dataclass(frozen=True)
class QuetzTarget:
    base_url: str  # https://host[:port][/prefix], no trailing slash
    channel: str

    @property
    def channel_url(self) -> str:
        return f"{self.base_url}/get/{self.channel}"


def parse_quetz_target(to: str) -> QuetzTarget:
    """``quetz+https://host[/prefix]/CHANNEL`` → server base URL and channel name.

    ``quetz+http://`` only for a server on this machine: anywhere else the API key would cross the
    network in clear. Refused here, before any name lookup or connection.
    """
    url = to.removeprefix("quetz+")
    parts = urllib.parse.urlsplit(url)
    path = parts.path.strip("/")
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or not path
        or parts.query
        or parts.fragment
    ):
        msg = f"{to}: expected quetz+https://HOST/CHANNEL (for example quetz+https://quetz.example.org/tango)"
        raise PublishError(msg)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        msg = (
            f"{to}: plain http would send the API key in clear to {parts.hostname}; use "
            f"quetz+https://{parts.netloc}/{path} (quetz+http:// only for a server on this machine)"
        )
        raise PublishError(msg)
    prefix, _, channel = path.rpartition("/")
    if prefix == "get" or prefix.endswith("/get"):
        prefix = prefix.removesuffix("get").rstrip("/")  # the channel's download URL works as well
    base = f"{parts.scheme}://{parts.netloc}" + (f"/{prefix}" if prefix else "")
    return QuetzTarget(base_url=base, channel=channel)


def _is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address literal (a name is never looked up here)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_REDIRECTS = (301, 302, 303, 307, 308)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib re-sends every header, the API key too, to wherever a redirect points: follow none."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_KEEP_THE_KEY = urllib.request.build_opener(_NoRedirects)


@dataclasses.dataclass(frozen=True)
class _Response:
    status: int
    body: bytes

    def detail(self) -> str:
        try:
            data = json.loads(self.body)
        except ValueError:
            return self.body.decode(errors="replace").strip()[:300]
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"])
        return json.dumps(data)[:300]


class QuetzClient:
    """The few calls of Quetz's REST API that publishing needs (stdlib HTTP, no client library)."""

    def __init__(self, target: QuetzTarget, api_key: str, timeout: float) -> None:
        self.target = target
        self.api_key = api_key
        self.timeout = timeout

    def publish(
        self,
        infos: list[channels.PackageInfo],
        *,
        replace: bool,
        index_wait: float,
        progress: Progress,
    ) -> tuple[tuple[PublishedPackage, ...], bool]:
        self._check_key()
        self._check_channel()
        states: dict[str, State] = {}
        conflicts = []
        for info in infos:
            existing = self._remote_sha256(info)
            if existing is None:
                continue
            if existing == info.sha256:
                states[info.path.name] = "unchanged"
            elif not replace:
                conflicts.append(f"{self.target.channel_url}/{info.subdir}/{info.path.name}")
        if conflicts:
            raise PublishError(conflict_message(conflicts, f"Quetz channel {self.target.channel_url}"))
        todo = [i for i in infos if i.path.name not in states]
        uploaded: list[channels.PackageInfo] = []
        for number, info in enumerate(todo, 1):
            progress(ProgressEvent("upload", info.path.name, number, len(todo)))
            try:
                states[info.path.name] = self._upload(info, replace=replace)
            except PublishError as exc:
                if not uploaded:
                    raise
                if replace:  # what was replaced cannot be put back: say what is new on the server
                    names = ", ".join(i.path.name for i in uploaded)
                    msg = f"{exc}\nuploaded before the failure (complete, verified by sha256): {names}"
                else:  # all or nothing: take back what this run added
                    msg = f"{exc}\n{self._roll_back(uploaded)}"
                raise PublishError(msg) from None
            if states[info.path.name] == "added":
                uploaded.append(info)
        added = [i for i in infos if states[i.path.name] == "added"]
        indexed = self._wait_for_index(added, index_wait) if added else True
        return tuple(published(i, states[i.path.name]) for i in infos), indexed

    # the calls

    def _check_key(self) -> None:
        """``GET /api/api-keys`` answers 401 for an unknown or expired key: fail before any upload."""
        response = self._request("GET", "/api/api-keys")
        if response.status in (401, 403):
            msg = (
                f"the Quetz server {self.target.base_url} refused the API key from {API_KEY_ENV} "
                f"(HTTP {response.status}: {response.detail()}); check the key exists and has not expired"
            )
            raise PublishError(msg)
        self._expect(response, 200, "checking the API key")

    def _check_channel(self) -> None:
        response = self._request("GET", f"/api/channels/{self._quoted_channel}")
        if response.status == 404:
            msg = (
                f"channel {self.target.channel!r} does not exist on {self.target.base_url} "
                "(or the API key cannot see it); create it in Quetz first"
            )
            raise PublishError(msg)
        self._expect(response, 200, f"looking up channel {self.target.channel!r}")

    def _remote_sha256(self, info: channels.PackageInfo) -> str | None:
        """The sha256 of the package file already on the server, None when it is not there."""
        path = f"/get/{self._quoted_channel}/{info.subdir}/{urllib.parse.quote(info.path.name)}"
        what = f"looking for {info.path.name} on the server"
        digest = hashlib.sha256()
        try:
            with self._download(path, what) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 404:
                    return None
                answer = _Response(exc.code, exc.read())
            self._expect(answer, 200, what)
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreachable(exc) from None
        return digest.hexdigest()

    def _upload(self, info: channels.PackageInfo, *, replace: bool) -> State:
        where = f"uploading {info.path.name} to {self.target.channel_url}"
        query = urllib.parse.urlencode({"sha256": info.sha256, "force": str(replace).lower()})
        path = f"/api/channels/{self._quoted_channel}/upload/{urllib.parse.quote(info.path.name)}?{query}"
        size = info.path.stat().st_size
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        with info.path.open("rb") as body:
            response = self._request("POST", path, body=body, headers=headers, what=where)
        if response.status in (200, 201):
            return "added"
        if response.status == 409:
            # someone published the same file name between our check and the upload
            if self._remote_sha256(info) == info.sha256:
                return "unchanged"
            remote = f"{self.target.channel_url}/{info.subdir}/{info.path.name}"
            raise PublishError(conflict_message([remote], f"Quetz channel {self.target.channel_url}"))
        if response.status in (401, 403):
            msg = (
                f"{where}: HTTP {response.status} {response.detail()}: the key from {API_KEY_ENV} may not "
                f"upload {info.name} to channel {self.target.channel!r} (it needs owner or maintainer rights)"
            )
            raise PublishError(msg)
        if response.status == 406:
            msg = f"{where}: the server received different bytes than were sent (sha256 mismatch); retry"
            raise PublishError(msg)
        self._expect(response, 201, where)
        return "added"

    def _roll_back(self, uploaded: list[channels.PackageInfo]) -> str:
        """Delete the packages this run uploaded before a failure; says what is left on the server."""
        left: list[str] = []
        for info in uploaded:
            path = (
                f"/api/channels/{self._quoted_channel}/packages/{urllib.parse.quote(info.name)}/versions/"
                f"{info.subdir}/{urllib.parse.quote(info.path.name)}"
            )
            try:
                response = self._request("DELETE", path)
            except PublishError as exc:
                left.append(f"{info.path.name} ({exc})")
                continue
            if response.status not in (200, 204):
                left.append(f"{info.path.name} (HTTP {response.status} {response.detail()})")
        names = ", ".join(i.path.name for i in uploaded)
        if not left:
            return f"nothing was published: what was uploaded before the failure was deleted again ({names})"
        return (
            f"the packages uploaded before the failure could not all be deleted again; still on the server: "
            f"{'; '.join(left)}"
        )

    def _wait_for_index(self, added: list[channels.PackageInfo], wait: float) -> bool:
        """Quetz re-indexes in the background after an upload: wait until the index lists them."""
        deadline = time.monotonic() + wait
        pending = {(i.subdir, i.path.name): i.sha256 for i in added}
        delay = 0.05
        while True:
            for subdir in sorted({s for s, _ in pending}):
                response = self._get_file(f"/get/{self._quoted_channel}/{subdir}/repodata.json")
                if response.status != 200:
                    continue
                try:
                    data = json.loads(response.body)
                except ValueError:
                    continue
                records = {**data.get("packages", {}), **data.get("packages.conda", {})}
                for (sub, name), sha in list(pending.items()):
                    if sub == subdir and records.get(name, {}).get("sha256") == sha:
                        del pending[(sub, name)]
            if not pending or time.monotonic() >= deadline:
                return not pending
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    # HTTP plumbing

    @property
    def _quoted_channel(self) -> str:
        return urllib.parse.quote(self.target.channel, safe="")

    def _make_request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> urllib.request.Request:
        all_headers = {"X-API-Key": self.api_key, "Accept": "application/json", **(headers or {})}
        return urllib.request.Request(
            self.target.base_url + path, data=body, headers=all_headers, method=method
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        what: str = "",
    ) -> _Response:
        """One API call with the key; a redirect is an error (the key would follow it)."""
        request = self._make_request(method, path, body, headers)
        try:
            with _KEEP_THE_KEY.open(request, timeout=self.timeout) as response:
                return _Response(response.status, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code in _REDIRECTS:
                    raise self._redirected(exc, what or f"{method} {request.full_url}") from None
                return _Response(exc.code, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreachable(exc) from None

    @contextlib.contextmanager
    def _download(self, path: str, what: str) -> Iterator[Any]:
        """GET a file under ``/get/``: from the server with the key; where it redirects, without it.

        Quetz with an object store answers with a redirect to a signed URL, which needs no key.
        """
        request = self._make_request("GET", path)
        try:
            response = _KEEP_THE_KEY.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code not in _REDIRECTS:
                raise
            with exc:
                location = urllib.parse.urljoin(request.full_url, exc.headers.get("Location", ""))
                if urllib.parse.urlsplit(location).scheme not in ("https", "http"):
                    raise self._redirected(exc, what) from None
            plain = urllib.request.Request(location, headers={"Accept": "application/octet-stream"})
            response = urllib.request.urlopen(plain, timeout=self.timeout)
        with response:
            yield response

    def _get_file(self, path: str) -> _Response:
        try:
            with self._download(path, f"GET {self.target.base_url}{path}") as response:
                return _Response(response.status, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _Response(exc.code, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreachable(exc) from None

    def _redirected(self, exc: urllib.error.HTTPError, what: str) -> PublishError:
        location = exc.headers.get("Location") or "nowhere (no Location header)"
        msg = (
            f"{what}: the Quetz server answered HTTP {exc.code}, a redirect to {location}; fastconda "
            "follows no redirect with the API key (it would send the key there) and counts nothing "
            "redirected as published: name the server's own address in --to"
        )
        return PublishError(msg)

    def _unreachable(self, exc: Exception) -> PublishError:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        msg = (
            f"cannot reach the Quetz server at {self.target.base_url} ({reason}); "
            "check the URL, that the server is running, and the network"
        )
        return PublishError(msg)

    def _expect(self, response: _Response, status: int, what: str) -> None:
        if response.status != status:
            msg = f"{what}: the Quetz server answered HTTP {response.status}: {response.detail()}"
            raise PublishError(msg)
