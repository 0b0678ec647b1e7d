"""Compare two pytest JUnit XML reports: the tests whose outcome differs.

    python3 tests/compat/compare.py test-artifacts/compat/host.xml test-artifacts/compat/trixie.xml

Prints a Markdown table (test, outcome in each report) and the totals; only
the standard library, so the host's /usr/bin/python3 runs it.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path


def _outcome(case: ElementTree.Element) -> str:
    for child in case:
        if child.tag in ("failure", "error"):
            return "failed"
        if child.tag == "skipped":
            return "skipped"
    return "passed"


def outcomes(report: Path) -> dict[str, str]:
    """Each test of a JUnit XML report (``file::Class::name``) and its outcome."""
    found: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        # pytest writes classname "tests.test_app.TestErrors": the file, then the class if any
        parts = case.get("classname", "").split(".")
        while parts and not parts[0].startswith("test_"):
            parts.pop(0)
        name = "::".join([f"tests/{parts[0]}.py", *parts[1:], case.get("name", "")]) if parts else case.get("name", "")
        found[name] = _outcome(case)
    return found


def differences(first: dict[str, str], second: dict[str, str]) -> list[tuple[str, str, str]]:
    """(test, outcome in first, outcome in second) for every test whose outcome differs or is missing."""
    names = sorted(set(first) | set(second))
    return [(name, first.get(name, "absent"), second.get(name, "absent"))
            for name in names if first.get(name) != second.get(name)]


def _totals(found: dict[str, str]) -> str:
    counts = Counter(found.values())
    return ", ".join(f"{counts[key]} {key}" for key in ("passed", "failed", "skipped") if counts[key])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    first_path, second_path = Path(argv[0]), Path(argv[1])
    first, second = outcomes(first_path), outcomes(second_path)
    print(f"{first_path.stem}: {_totals(first)}; {second_path.stem}: {_totals(second)}")
    rows = differences(first, second)
    if not rows:
        print("No test differs.")
        return 0
    print(f"\n| test | {first_path.stem} | {second_path.stem} |\n|---|---|---|")
    for name, one, other in rows:
        print(f"| `{name}` | {one} | {other} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
