"""JUnit XML for CI: one ``testsuite`` per package, one ``testcase`` per check or phase.

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


def write_junit(path: Path, suite: str, cases: Sequence[Case], seconds: float) -> None:
    """Write one test suite to *path*, atomically (a CI reader never sees half a file)."""
    element = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(c.outcome is Outcome.FAILED for c in cases)),
        errors="0",
        skipped=str(sum(c.outcome is Outcome.SKIPPED for c in cases)),
        time=f"{seconds:.3f}",
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
    root = ET.Element("testsuites")
    root.append(element)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path.absolute().parent.mkdir(parents=True, exist_ok=True)
    text = ET.tostring(root, encoding="unicode", xml_declaration=True)
    write_text_atomic(path.absolute(), text + "\n")
