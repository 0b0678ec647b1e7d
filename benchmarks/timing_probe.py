"""Loaded into Orthanc by ``benchmarks/request_path.py`` through ``"TestModules"``.

Turns on :mod:`previewer.plugin.timing` and answers the records kept so far at
``GET /probe/request-timings`` (and forgets them).
"""
from __future__ import annotations

import json
from typing import Any

from previewer.plugin import sdk, timing

ROUTE = "/probe/request-timings"


def _answer(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    output.answer(json.dumps(timing.take()).encode(), "application/json")


def install(config: Any) -> None:
    timing.enable()
    sdk.register_rest_callback(ROUTE, _answer)
