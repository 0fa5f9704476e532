"""fastconda publish: local channels (50 concurrent publishers) and a real Quetz server on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastconda.channel.publish import publish
from fastconda.channel.quetz import parse_quetz_target
from fastconda.cli import ExitCode, main
from fastconda.errors import PublishError
from fastconda.progress import ProgressEvent
from tests.channel.conftest import QuetzServer, _free_port
from tests.helpers import assert_consistent, make_conda, snapshot


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- local channels ---------------------------------------------------------------------------------


def test_publish_to_a_folder_adds_indexes_and_is_idempotent(tmp_path: Path) -> None:
    pkgs = [make_conda(tmp_path / "build", name) for name in ("alpha", "beta")]
    first = publish(pkgs, str(tmp_path / "ch"))
    assert [p.state for p in first.packages] == ["added", "added"]
    assert assert_consistent(tmp_path / "ch") == ["alpha", "beta"]
    before = snapshot(tmp_path / "ch")
    again = publish(pkgs, (tmp_path / "ch").as_uri())
    assert [p.state for p in again.packages] == ["unchanged", "unchanged"]
    assert snapshot(tmp_path / "ch") == before


def test_cli_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = make_conda(tmp_path / "build", "alpha")
    assert main(["publish", str(pkg), "--to", str(tmp_path / "ch"), "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"target", "kind", "channel_url", "indexed", "seconds", "packages"}
    assert data["kind"] == "local"
    assert data["channel_url"] == (tmp_path / "ch").resolve().as_uri()
    (record,) = data["packages"]
    assert record == {
        "filename": "alpha-1.0-0.conda", "subdir": "noarch", "name": "alpha", "version": "1.0",
        "build": "0", "sha256": sha(pkg), "state": "added",
    }  # fmt: skip


def test_existing_package_with_other_content_fails_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "ch"
    publish([make_conda(tmp_path / "a", "alpha", payload="one")], str(channel))
    before = snapshot(channel)
    new = make_conda(tmp_path / "b", "new-one")
    changed = make_conda(tmp_path / "b", "alpha", payload="two")
    # the new package comes first: it must not be written either
    assert main(["publish", str(new), str(changed), "--to", str(channel)]) == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert "already exist" in err and "alpha-1.0-0.conda" in err and "nothing was published" in err
    assert snapshot(channel) == before
    assert main(["publish", str(changed), "--to", str(channel), "--replace", "-q"]) == ExitCode.OK
    assert assert_consistent(channel) == ["alpha"]


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no such package file"):
        publish([tmp_path / "missing.conda"], str(tmp_path / "ch"))
    pkg = make_conda(tmp_path / "build", "alpha")
    with pytest.raises(PublishError, match="unsupported target"):
        publish([pkg], "https://example.invalid/channel")
    with pytest.raises(PublishError, match="quetz\\+https://HOST/CHANNEL"):
        publish([pkg], "quetz+https://host-only")
    assert not (tmp_path / "ch").exists()


def test_quetz_target_parsing() -> None:
    target = parse_quetz_target("quetz+https://quetz.example.org/tango")
    assert (target.base_url, target.channel) == ("https://quetz.example.org", "tango")
    target = parse_quetz_target("quetz+https://example.org/quetz/get/tango/")
    assert (target.base_url, target.channel) == ("https://example.org/quetz", "tango")
    assert target.channel_url == "https://example.org/quetz/get/tango"


PUBLISHERS = 50


@pytest.mark.slow
def test_fifty_concurrent_publishers_lose_nothing_and_keep_the_index_valid(tmp_path: Path) -> None:
    channel = tmp_path / "ch"
    shared = make_conda(tmp_path / "shared", "shared-dep")  # everyone also publishes this one
    pkgs = [make_conda(tmp_path / f"p{n}", f"pkg-{n:02d}", payload=str(n)) for n in range(PUBLISHERS)]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fastconda", "-q", "publish", str(pkg), str(shared), "--to", str(channel)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pkg in pkgs
    ]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    seconds = time.perf_counter() - started
    assert [code for code, _ in results] == [0] * PUBLISHERS, [err for code, err in results if code]
    names = assert_consistent(channel)  # every record's file exists with that sha256
    assert names == sorted([f"pkg-{n:02d}" for n in range(PUBLISHERS)] + ["shared-dep"])
    assert not [p.name for p in channel.rglob(".fastconda-tmp-*")], "leftovers"
    print(f"{PUBLISHERS} concurrent publishers: {seconds:.1f} s")


# -- Quetz: errors that need no server ---------------------------------------------------------------


def test_unreachable_quetz_server_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = make_conda(tmp_path / "build", "alpha")
    target = f"quetz+http://127.0.0.1:{_free_port()}/facility"
    os.environ["QUETZ_API_KEY"] = "whatever"
    try:
        assert main(["publish", str(pkg), "--to", target, "--timeout", "5"]) == ExitCode.FAILURE
    finally:
        del os.environ["QUETZ_API_KEY"]
    err = capsys.readouterr().err
    assert "cannot reach the Quetz server at http://127.0.0.1" in err


def test_missing_api_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUETZ_API_KEY", raising=False)
    with pytest.raises(PublishError, match="set QUETZ_API_KEY"):
        publish([make_conda(tmp_path, "alpha")], "quetz+http://127.0.0.1:1/facility")


# -- Quetz: a real server ------------------------------------------------------------------------------


def remote(server: QuetzServer, name: str) -> tuple[int, str]:
    status, body = server.get(f"/get/{server.channel}/noarch/{name}")
    return status, hashlib.sha256(body).hexdigest() if status == 200 else ""


def test_wrong_api_key_is_refused_and_nothing_is_uploaded(
    quetz_server: QuetzServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = make_conda(tmp_path, "wrong-key")
    with pytest.raises(PublishError, match=r"refused the API key from QUETZ_API_KEY \(HTTP 401"):
        publish([pkg], quetz_server.target, api_key="not-a-key")
    with pytest.raises(PublishError, match=r"HTTP 403 No permission.*may not upload wrong-key"):
        publish([pkg], quetz_server.target, api_key=quetz_server.outsider_key)
    assert remote(quetz_server, pkg.name)[0] == 404


def test_package_refused_in_the_middle_of_a_batch_takes_back_what_was_uploaded_before_it(
    quetz_server: QuetzServer, tmp_path: Path
) -> None:
    # a real race on a real server: just before package 2 of 2 is uploaded, another publisher uploads a
    # file of the same name with other content, so the server refuses ours (409) after package 1 went up
    first = make_conda(tmp_path / "mine", "batch-first")
    second = make_conda(tmp_path / "mine", "batch-second", payload="ours")
    theirs = make_conda(tmp_path / "theirs", "batch-second", payload="theirs")

    def other_publisher(event: ProgressEvent) -> None:
        if event.phase == "upload" and event.message == second.name:
            publish([theirs], quetz_server.target, api_key=quetz_server.key)

    with pytest.raises(PublishError) as info:
        publish([first, second], quetz_server.target, api_key=quetz_server.key, progress=other_publisher)
    message = str(info.value)
    assert "already exist in Quetz channel" in message and second.name in message
    assert "nothing was published: what was uploaded before the failure was deleted again" in message
    assert f"({first.name})" in message
    assert remote(quetz_server, first.name)[0] == 404  # taken back
    assert remote(quetz_server, second.name) == (200, sha(theirs))  # the other publisher's file is untouched


def test_unknown_channel_is_a_clear_error(quetz_server: QuetzServer, tmp_path: Path) -> None:
    target = f"quetz+{quetz_server.base_url}/no-such-channel"
    with pytest.raises(PublishError, match="channel 'no-such-channel' does not exist"):
        publish([make_conda(tmp_path, "alpha")], target, api_key=quetz_server.key)


def test_quetz_publish_is_idempotent_and_refuses_changed_content(
    quetz_server: QuetzServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUETZ_API_KEY", quetz_server.key)
    first = make_conda(tmp_path / "a", "stable-pkg", payload="one")
    assert main(["publish", str(first), "--to", quetz_server.target, "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "quetz" and data["indexed"] is True
    assert [p["state"] for p in data["packages"]] == ["added"]
    assert data["channel_url"] == quetz_server.channel_url
    assert remote(quetz_server, first.name) == (200, sha(first))

    assert main(["publish", str(first), "--to", quetz_server.target, "--json"]) == ExitCode.OK
    assert [p["state"] for p in json.loads(capsys.readouterr().out)["packages"]] == ["unchanged"]

    fresh = make_conda(tmp_path / "b", "fresh-pkg")
    changed = make_conda(tmp_path / "b", "stable-pkg", payload="two")
    assert main(["publish", str(fresh), str(changed), "--to", quetz_server.target]) == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert "already exist in Quetz channel" in err and "stable-pkg-1.0-0.conda" in err
    assert remote(quetz_server, first.name) == (200, sha(first))  # unchanged on the server
    assert remote(quetz_server, fresh.name)[0] == 404  # and the other one was not uploaded


@pytest.mark.slow
def test_example_server_round_trip_through_quetz(
    quetz_server: QuetzServer, seed_channel: Path, tmp_path: Path
) -> None:
    from fastconda.pipeline.build import build_project
    from fastconda.pipeline.options import BuildOptions
    from fastconda.settings import load_settings
    from fastconda.tools.rattler import create_environment
    from tests.helpers import EXAMPLE

    settings = load_settings(overrides={"offline": True})
    options = BuildOptions(
        channels=(seed_channel.as_uri(),), output=tmp_path / "channel", cache_dir=tmp_path / "cache",
        wheel_cache=settings.wheel_cache_dir, offline=True, test=False,
    )  # fmt: skip
    project = tmp_path / "pytango-powersupply"
    shutil.copytree(EXAMPLE, project)
    built = build_project(project, options)
    started = time.perf_counter()
    result = publish([built.package], quetz_server.target, api_key=quetz_server.key)
    published = time.perf_counter() - started
    assert [p.state for p in result.packages] == ["added"] and result.indexed
    env = create_environment(
        tmp_path / "env", ["tango-powersupply"], channels=[quetz_server.channel_url, seed_channel.as_uri()]
    )
    installed = time.perf_counter() - started
    origin = {p.name: p.channel for p in env.packages}
    assert quetz_server.base_url in origin["tango-powersupply"]
    done = subprocess.run(
        [env.python, "-c", "import powersupply.server; print('ok')"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    print(f"quetz round trip: publish {published:.2f} s, publish + install {installed:.2f} s")
