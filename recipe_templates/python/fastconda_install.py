"""Build script written by fastconda: build the project's wheel with its own PEP 517 backend, in this
process, and install it into this Python's environment with `installer`.

    python fastconda_install.py [SOURCE]

What `pip install SOURCE --no-deps --no-build-isolation --no-compile` does, without starting pip
(its import, its platform probes and a second Python for the backend: about 0.3 s of every build).
The backend and its `backend-path` come from SOURCE's pyproject.toml (default: the current folder);
without a [build-system] table the PEP 517 fallback, setuptools' legacy backend, builds it. No
bytecode is written (conda compiles it when the package is installed) and no direct_url.json (the
package does not point at the build machine's folder). A backend's error ends it with the
backend's traceback (exit 1).
"""

import importlib
import os
import sys
import sysconfig
import tempfile
from pathlib import Path

FALLBACK = "setuptools.build_meta:__legacy__"


def read_toml(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11: tomli, else pip's vendored copy (pip is in the host env)
        try:
            import tomli as tomllib
        except ImportError:
            from pip._vendor import tomli as tomllib
    with path.open("rb") as stream:
        return tomllib.load(stream)


def load_backend(source):
    """The backend object [build-system] names, imported the way PEP 517 says (backend-path first)."""
    pyproject = source / "pyproject.toml"
    table = read_toml(pyproject).get("build-system", {}) if pyproject.is_file() else {}
    spec = table.get("build-backend") or FALLBACK
    for entry in reversed(table.get("backend-path", [])):
        sys.path.insert(0, str((source / entry).resolve()))
    module, _, attributes = spec.partition(":")
    backend = importlib.import_module(module.strip())
    for name in filter(None, attributes.strip().split(".")):
        backend = getattr(backend, name)
    return backend


def destination(wheel_name):
    """This interpreter's install scheme, as pip's default uses it."""
    from installer.destinations import SchemeDictionaryDestination

    paths = sysconfig.get_paths()
    scheme = {key: paths[key] for key in ("purelib", "platlib", "scripts", "data")}
    scheme["headers"] = str(Path(paths["include"], wheel_name.split("-")[0]))
    return SchemeDictionaryDestination(
        scheme, interpreter=sys.executable, script_kind="posix", bytecode_optimization_levels=()
    )


def main(argv):
    source = Path(argv[0] if argv else os.curdir).resolve()
    os.chdir(source)  # backends resolve the project's files from the working folder
    here = Path(__file__).resolve().parent  # the recipe's folder: its files must not shadow a module
    sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != here]
    backend = load_backend(source)
    from installer import install
    from installer.sources import WheelFile

    with tempfile.TemporaryDirectory(prefix="fastconda-wheel-") as out:
        name = backend.build_wheel(out)
        with WheelFile.open(Path(out, name)) as wheel:
            install(wheel, destination(name), {"INSTALLER": b"conda\n"})
    print(f"fastconda_install.py: installed {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
