"""JUnit XML for CI: a ``testsuite`` per package (per project of a set), a ``testcase`` per check or phase.

GitLab (``artifacts:reports:junit``) and GitHub test reporters read this format; only the common
subset is written: ``failure`` and ``skipped`` with a one-line message and the full output as text.
"""

from __future__ import annotations

import dataclasses
import enum
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from fastconda._files import write_text_atomic


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class Case:
    classname: str
    name: str
    outcome: Outcome
    seconds: float
    #: the output of a failed case, or why a case was skipped
    output: str = ""


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    cases: Sequence[Case]
    seconds: float


def write_junit(path: Path, suite: str, cases: Sequence[Case], seconds: float) -> None:
    """Write one test suite to *path*, atomically (a CI reader never sees half a file)."""
    write_suites(path, [Suite(suite, cases, seconds)])


def write_suites(path: Path, suites: Sequence[Suite]) -> None:
    """Write test suites to *path* (``fastconda build PATH...``: one per project), atomically."""
    root = ET.Element("testsuites")
    for suite in suites:
        root.append(_suite(suite))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path.absolute().parent.mkdir(parents=True, exist_ok=True)
    text = ET.tostring(root, encoding="unicode", xml_declaration=True)
    write_text_atomic(path.absolute(), text + "\n")


def _suite(suite: Suite) -> ET.Element:
    cases = suite.cases
    element = ET.Element(
        "testsuite",
        name=suite.name,
        tests=str(len(cases)),
        failures=str(sum(c.outcome is Outcome.FAILED for c in cases)),
        errors="0",
        skipped=str(sum(c.outcome is Outcome.SKIPPED for c in cases)),
        time=f"{suite.seconds:.3f}",
    )
    for case in cases:
        item = ET.SubElement(
            element, "testcase", classname=case.classname, name=case.name, time=f"{case.seconds:.3f}"
        )
        if case.outcome is Outcome.FAILED:
            last = (case.output.strip().splitlines() or ["failed"])[-1]
            ET.SubElement(item, "failure", message=last[:200]).text = case.output
        elif case.outcome is Outcome.SKIPPED:
            ET.SubElement(item, "skipped", message=case.output)
    return element
