"""The SDK coverage table names every seed SDK function and only existing tests."""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent.parent / "shared" / "reference" / "orthanc-plugin-sdk.txt"
TABLE = HERE / "SDK_COVERAGE.md"
_DECLARATION = re.compile(r"^(?:void|int|char|const char|int64_t)\s*\*?\s*(OrthancPlugin\w+) \(", re.M)
_ROW = re.compile(r"^\| (OrthancPlugin\w+) \| .* \| (tests/\S+) \|$", re.M)


def _rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for function, test in _ROW.findall(TABLE.read_text()):
        rows.setdefault(function, []).append(test)
    return rows


class TestCoverageTable:
    def test_every_seed_function_has_a_row(self) -> None:
        """Each of the 37 functions of the reference interface is in the table."""
        functions = set(_DECLARATION.findall(REFERENCE.read_text()))
        assert len(functions) == 37
        assert functions <= set(_rows()), sorted(functions - set(_rows()))

    def test_every_named_test_exists(self) -> None:
        """Each test the table names is defined in its file and class."""
        for function, tests in _rows().items():
            for node in tests:
                path, cls, name = node.split("::")
                source = (HERE.parent / path).read_text()
                assert f"class {cls}" in source, node
                body = source.split(f"class {cls}", 1)[1].split("\nclass ", 1)[0]
                assert f"def {name}(" in body, f"{function}: {node}"

    def test_every_seed_function_is_called_in_the_wrapper(self) -> None:
        """previewer/plugin/sdk.py calls each seed function through lib."""
        source = (HERE.parent / "previewer" / "plugin" / "sdk.py").read_text()
        for function in _DECLARATION.findall(REFERENCE.read_text()):
            assert f"lib.{function}(" in source or f"lib.{function}\n" in source or \
                f"lib.{function} " in source, function
