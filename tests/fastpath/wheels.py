"""The real wheels the fast-path tests convert, install and test (fetched by ``python -m tests.fetch``).

Together with ``tests/wheel/test_wheel_real.py``'s PURE and BINARY lists they form a closed set: every
dependency of every wheel is either in this set or in the seed channel, so all of them install offline.
"""

from __future__ import annotations

from tests.wheel.test_wheel_real import BINARY, PURE

#: dependencies of requests, rich, black and pytest, plus more wheels with console scripts
EXTRA_PURE = [
    "certifi==2026.10.19.post1",
    "idna==3.20",
    "urllib3==2.8.0",
    "markdown-it-py==4.3.0",
    "mdurl==0.1.2",
    "pygments==2.21.0",
    "mypy-extensions==1.2.0",
    "platformdirs==4.14.8",
    "pytest==9.2.0",
    "iniconfig==2.3.1",
    "tomlkit==0.15.2",
    "vcs-versioning==2.6.0",
    "docstring-parser==0.18.0",
]
#: charset-normalizer: a compiled (mypyc) extension with a console script; pytokens: black's dependency
EXTRA_BINARY = ["charset-normalizer==3.5.3", "pytokens==0.4.1"]

ALL = [*PURE, *EXTRA_PURE, *BINARY, *EXTRA_BINARY]

#: installed and tested one by one: console scripts, markers, extras, C extensions
TESTED_PURE = [
    "pip==26.3",
    "setuptools==84.2.1",
    "wheel==0.48.0",
    "hatchling==1.33.0",
    "setuptools-scm==10.3.4",
    "flit-core==4.2.0",
    "click==8.5.1",
    "requests==2.34.2",
    "rich==15.0.0",
    "idna==3.20",
    "markdown-it-py==4.3.0",
    "pygments==2.21.0",
    "pytest==9.2.0",
    "vcs-versioning==2.6.0",
]
TESTED_BINARY = [
    "numpy==2.4.6",
    "pytango==10.3.1",
    "psutil==7.2.2",
    "black==26.10.1",
    "charset-normalizer==3.5.3",
]
