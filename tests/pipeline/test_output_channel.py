"""fastconda build and its output channel (issue 13, items 2 and 13), with the real engine.

The project brings its own tiny ``recipe.yaml`` (a noarch: generic package, no dependencies), so each
build is a real rattler-build run that takes well under a second; the channel to build against is an
empty local channel.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fastconda.channel import local as channels
from fastconda.cli import ExitCode, main
from fastconda.errors import BuildFailed
from fastconda.pipeline.build import build_project
from tests.helpers import build_options

RECIPE = """
package:
  name: tiny-tool
  version: "1.0"
build:
  noarch: generic
  script:
    - mkdir -p $PREFIX/share/tiny-tool
    - echo hello > $PREFIX/share/tiny-tool/data.txt
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    (root / "recipe").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'tiny-tool'\nversion = '1.0'\n")
    (root / "recipe" / "recipe.yaml").write_text(RECIPE)
    return root


@pytest.fixture
def against(tmp_path: Path) -> str:
    channel = tmp_path / "empty-channel"
    channels.create_channel(channel)
    return channel.as_uri()


def listed(channel: Path) -> dict[str, str]:
    data = json.loads((channel / "noarch" / "repodata.json").read_text())
    return {name: record["sha256"] for name, record in data["packages.conda"].items()}


def on_disk(channel: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (channel / "noarch").glob("*.conda")}


def test_force_does_not_replace_a_published_package_unless_asked(
    project: Path, against: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    first = build_project(project, build_options((against,), output, test=False))
    published = listed(output)
    assert published == {first.package.name: first.sha256}
    with pytest.raises(BuildFailed, match=r"already exists with different content.*--replace"):
        build_project(project, build_options((against,), output, test=False, force=True))
    assert listed(output) == on_disk(output) == published  # the channel did not change
    argv = ["build", str(project), "-c", against, "-o", str(output), "--no-test", "--force", "--offline"]
    assert main(argv) == ExitCode.FAILURE
    assert "--replace" in capsys.readouterr().err
    assert listed(output) == on_disk(output) == published
    assert main([*argv, "--replace", "-q"]) == ExitCode.OK
    assert listed(output) == on_disk(output) != published  # asked for: the new bytes replace the old


def test_skip_check_looks_at_the_index_and_lists_a_package_missing_from_it(
    project: Path, against: str, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    options = build_options((against,), output, test=False)
    first = build_project(project, options)
    # the state a killed writer leaves: the package file is there, the index does not list it
    repodata = output / "noarch" / "repodata.json"
    data = json.loads(repodata.read_text())
    del data["packages.conda"][first.package.name]
    repodata.write_text(json.dumps(data))
    again = build_project(project, options)
    assert listed(output) == on_disk(output) == {first.package.name: again.sha256}


def test_the_write_probe_may_be_removed_by_a_writer_of_the_channel_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # builds side by side: another one adds to the channel (holding its lock, it removes temp files
    # as a killed writer's leftovers) between this probe's creation and its removal
    import tempfile

    from fastconda.pipeline.workdir import check_writable

    channel = tmp_path / "channel"
    channels.create_channel(channel)
    made = tempfile.mkstemp

    def made_then_another_writer(*args: object, **kwargs: object) -> tuple[int, str]:
        probe = made(*args, **kwargs)  # type: ignore[call-overload]
        channels.create_channel(channel)
        assert not Path(probe[1]).exists()
        return probe  # type: ignore[no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", made_then_another_writer)
    check_writable(channel)
