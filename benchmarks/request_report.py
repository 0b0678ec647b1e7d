"""The request-path part of RESULTS.md: the stage table and the request targets.

Rendered from ``results/request.json`` (``request_path.py``), with the HTTP,
pixel and memory results of the same run for the targets.  Every number in
the text comes from those files.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Stage names of previewer.plugin.timing (and the two outside the callback), in request order.
STAGES: dict[str, str] = {
    "http_in": "client sends → callback entered (Orthanc's HTTP server and REST dispatch, C to Python)",
    "dispatch": "to the endpoint (URL, copy of the request, route table)",
    "parameters": "parameter parsing",
    "version": "version lookup (stored-file UUID, a REST call into Orthanc)",
    "etag": "ETag and If-None-Match",
    "cache": "cache lookups (and waiting for a decode slot)",
    "read": "the DICOM file from Orthanc (GetDicomForInstance)",
    "parse": "parse (DICOM elements)",
    "decode": "decode + Modality LUT stage",
    "lut": "VOI LUT + output (window table, one lookup per pixel)",
    "encode": "PNG encode (encoder=fast, in Python)",
    "response": "response object, back through the router",
    "answer": "answer: CompressAndAnswerPngImage (libpng encode + send), or AnswerBuffer with encoder=fast",
    "exit": "return to Orthanc",
    "http_out": "after the answer call → the client has the body (negative: the body arrived before the call returned)",
}
_COLUMNS = (("warm", "warm, encoder=orthanc"), ("warm_fast", "warm, encoder=fast"),
            ("cold", "cold, encoder=orthanc"))

Row = list[Any]
Add = Callable[[str, str, str, "bool | None", str], None]


def _stage(profile: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in profile["stages"] if s["stage"] == name), None)


def _ms(profile: dict[str, Any], name: str, key: str = "median_ms") -> float:
    found = _stage(profile, name)
    return float(found[key]) if found else 0.0


def section(request: dict[str, Any], table: Callable[[list[str], list[Row]], str],
            before: dict[str, Any] | None = None, stamp: list[str] | None = None,
            before_stamp: list[str] | None = None) -> list[str]:
    """The markdown of the request-path section; ``stamp`` and ``before_stamp`` are the provenance lines of
    the two runs (benchmarks/provenance.py)."""
    present = [key for key, _ in _COLUMNS if key in request]
    names = [n for n in STAGES if any(_stage(request[k], n) for k in present)]
    header = ["stage"] + [f"{label} median ms (mean)" for key, label in _COLUMNS if key in request]
    rows: list[Row] = []
    for name in names:
        cells: Row = [f"{name}: {STAGES[name]}"]
        for key in present:
            found = _stage(request[key], name)
            cells.append(f"{found['median_ms']:.3f} ({found['mean_ms']:.3f})" if found else "-")
        rows.append(cells)
    rows.append(["**total, as the client saw it**"] +
                [f"**{request[k]['total_median_ms']:.3f}** ({request[k]['total_mean_ms']:.3f})" for k in present])
    core_warm, core_cold = request["warm_core_rendered"], request["cold_core_rendered"]
    core = {"warm": core_warm, "warm_fast": core_warm, "cold": core_cold}
    rows.append(["core /rendered, same kind of request (client only)"] +
                [f"{core[k]['total_median_ms']:.3f} ({core[k]['total_mean_ms']:.3f})" for k in present])
    if all("page_faults_per_request" in request[k] for k in present):
        rows.append(["minor page faults of the Orthanc process per request: ours"] +
                     [f"{request[k]['page_faults_per_request']}" for k in present])
        rows.append(["the same for core /rendered"] + [f"{core[k].get('page_faults_per_request', '-')}"
                                                        for k in present])
    out = [
        "## The request path, one request at a time", "", *(stamp or []),
        f"{request['image']}. Requests one at a time on one keep-alive connection "
        f"({request['warm']['requests']} warm, {request['cold']['requests']} cold), each of ours followed by "
        "core /rendered on the same kind of request (both then see the same moment of a machine whose speed "
        "drifts), in an Orthanc that loads "
        "`benchmarks/timing_probe.py`: `previewer.plugin.timing` stamps the callback's entry and exit and the end of "
        "each stage, and the client stamps its send and the end of the body on the same clock "
        "(CLOCK_MONOTONIC). *Warm*: the frame is cached, a new window every time; *cold*: the first request on "
        "a freshly uploaded instance. Medians per stage (means in brackets) do not add up to the median total "
        f"exactly. `MmapThresholdKB`: {request.get('mmap_threshold_kb', 'default')}; the page faults are the "
        "process's minor faults (/proc/PID/stat) over the same requests.", "",
        table(header, rows), ""]
    if before is not None:
        out += _comparison(before, request, table, before_stamp or [])
    return out


def _comparison(before: dict[str, Any], after: dict[str, Any],
                table: Callable[[list[str], list[Row]], str], stamp: list[str]) -> list[str]:
    """Medians per stage of another revision's run (``request_before.json``) beside this one's."""
    def cell(profile: dict[str, Any], name: str) -> str:
        found = _stage(profile, name)
        return f"{found['median_ms']:.3f}" if found else "-"

    names = [n for n in STAGES if any(_stage(d[k], n) for d in (before, after) for k in ("warm", "cold"))]
    rows: list[Row] = [[n] + [cell(d[k], n) for k in ("warm", "cold") for d in (before, after)] for n in names]
    rows.append(["**total, as the client saw it**"] + [f"**{d[k]['total_median_ms']:.3f}**"
                                                         for k in ("warm", "cold") for d in (before, after)])
    rows.append(["core /rendered (same run)"] + [f"{d[k + '_core_rendered']['total_median_ms']:.3f}"
                                                 for k in ("warm", "cold") for d in (before, after)])
    rows.append(["ours / core (latency)"] + [
        f"{d[k + '_core_rendered']['total_median_ms'] / d[k]['total_median_ms']:.2f}×"
        for k in ("warm", "cold") for d in (before, after)])
    rows.append(["page faults per request, ours"] + [f"{d[k].get('page_faults_per_request', '-')}"
                                                     for k in ("warm", "cold") for d in (before, after)])
    return [
        "### Before and after", "", *stamp,
        f"The same benchmark on the package of {before.get('revision') or 'another revision'}, medians in ms; "
        "the machine's speed drifts between runs, the ratios to core (measured in the same process) less.", "",
        table(["stage", "warm before", "warm after", "cold before", "cold after"], rows), ""]


def _largest(profile: dict[str, Any], names: tuple[str, ...], count: int = 4) -> str:
    found = sorted(((_ms(profile, n), n) for n in names if _stage(profile, n)), reverse=True)[:count]
    return ", ".join(f"{name} {ms:.2f}" for ms, name in found)


_OWN_WORK = ("dispatch", "parameters", "version", "etag", "cache", "read", "parse", "decode", "lut", "response")


def targets(http: dict[str, Any] | None, pixel: dict[str, Any] | None,
            request: dict[str, Any] | None, cpus: int, add: Add) -> None:
    """The rows of the earlier request targets (the memory target is a row of its own)."""
    if http is None:
        for case in ("warm c1", "cold c1", "warm c4"):
            add(f"issue 13: {case}", "", "", None, "")
        return
    w1, w4, c1 = http["warm_ct"]["1"], http["warm_ct"]["4"], http["cold_ct"]["1"]
    ratio = w1["ratio_rps_vs_rendered"]
    why = "see the request-path table"
    if request is not None:
        warm = request["warm"]
        encode = _ms(warm, "answer")
        outside = _ms(warm, "http_in") + max(0.0, _ms(warm, "http_out"))
        core = request["warm_core_rendered"]["total_median_ms"]
        bound = core / (encode + outside)
        why = (f"CompressAndAnswerPngImage alone (libpng's encode and the send) takes {encode:.2f} ms of the "
               f"{core:.2f} ms that a whole core /rendered takes (request-path table, medians); with the stages "
               f"outside the callback ({outside:.2f} ms) and no Python work at all, ours would be at most "
               f"{bound:.2f}× core. ")
        why += ("1.3× cannot be met with Orthanc's encoder: it needs a faster encoder (encoder=fast) or "
                "another image, which this target excludes" if bound < 1.3 else
                f"Our own work in the callback: {_largest(warm, _OWN_WORK)} ms")
    add("issue 13: warm, 512² CT, new window, concurrency 1, encoder=orthanc", "≥ 1.3× core /rendered req/s",
        f"{ratio}× ({w1['ours']['rps']} vs {w1['core_rendered']['rps']} req/s)", ratio >= 1.3, why)
    ratio = c1["ratio_rps"]
    why = "see the request-path table"
    if request is not None:
        cold = request["cold"]
        work = sum(_ms(cold, n) for n in _OWN_WORK)
        core = request["cold_core_rendered"]
        why = (f"before the same libpng encode ({_ms(cold, 'answer'):.2f} ms) a cold request does "
               f"{work:.2f} ms of its own work (request-path table, medians; largest: "
               f"{_largest(cold, _OWN_WORK)} ms); core /rendered takes {core['total_median_ms']:.2f} ms in all. "
               f"The Orthanc process takes {cold.get('page_faults_per_request', '?')} page faults per cold "
               f"request of ours (one copy of the file out of Orthanc, the decoded frame and its padding mask, "
               f"the rendered image) and {core.get('page_faults_per_request', '?')} per core /rendered")
    add("issue 13: cold, 512² CT, concurrency 1, encoder=orthanc", "≥ 1.0× core /rendered req/s",
        f"{ratio}× ({c1['ours']['rps']} vs {c1['core_rendered']['rps']} req/s)", ratio >= 1.0, why)
    ratio = w4["ratio_rps_vs_rendered"]
    why = "see the request-path table"
    if request is not None:
        warm = request["warm"]
        share = _ms(warm, "answer") / warm["total_median_ms"]
        cpu = cpus * 1000 / w4["ours"]["rps"]
        client = w4["ours"]["client_cpu_ms_per_request"]
        target = 3 * w4["core_rendered"]["rps"]
        need = cpus * 1000 / target
        why = (f"at concurrency 4 the {cpus} CPUs are busy: {w4['ours']['rps']} req/s is {cpu:.2f} ms of CPU "
               f"per request, the load generator's {client} ms included; 3× core ({target:.0f} req/s) needs "
               f"{need:.2f} ms. libpng's encode (CompressAndAnswerPngImage) is {share:.0%} of a warm request "
               f"in the request-path run, so about {share * cpu:.2f} ms here")
        if share * cpu + client > need:
            why += ": with the load generator's share, more than that budget, whatever the rest costs"
        else:
            why += f"; the rest is our own work (largest: {_largest(warm, _OWN_WORK, 3)} ms at c1) and GIL waits"
        fast = http.get("warm_ct_fast_c4")
        if fast:
            why += (f". With encoder=fast the same load runs at {fast['ours_fast']['rps']} req/s "
                    f"({cpus * 1000 / fast['ours_fast']['rps']:.2f} ms per request)")
    add("issue 13: warm, 512² CT, new window, concurrency 4, encoder=orthanc", "≥ 3× core /rendered req/s",
        f"{ratio}× ({w4['ours']['rps']} vs {w4['core_rendered']['rps']} req/s)", ratio >= 3, why)
    ct = next((i for i in pixel["images"] if i["key"] == "ct512"), None) if pixel else None
    if ct is not None:
        s = ct["speedup_total"]
        add("issue 13: CT 512² pixel path vs naive pydicom (parse+decode+LUT+8-bit)", "≥ 2× faster",
            f"{s}× ({ct['previewer_ms']['total']} vs {ct['naive_ms']['total']} ms)", s >= 2,
            f"parse {ct['previewer_ms']['parse']} ms, decode {ct['previewer_ms']['decode']} ms, modality "
            f"{ct['previewer_ms']['modality']} ms, display {ct['previewer_ms']['per_window']} ms (pixel table)")


#: The cases of ``request_targets.json`` (``request_targets.CASES``), in table order.
_WRK_CASES = (("warm", "concurrency 1, encoder=orthanc"), ("warm_fast", "concurrency 1, encoder=fast"),
              ("warm_c4", "concurrency 4, encoder=orthanc"), ("warm_fast_c4", "concurrency 4, encoder=fast"))


def wrk_section(wrk: dict[str, Any] | None, table: Callable[[list[str], list[Row]], str],
                stamp: list[str] | None = None) -> list[str]:
    """The request path against core /rendered with wrk (``request_targets.py``): the medians behind the
    Targets rows, under that run's own provenance line."""
    if not wrk:
        return []
    rows: list[Row] = []
    for key, label in _WRK_CASES:
        case = wrk["cases"].get(key)
        if case is not None:
            rows.append([label, case["rps"]["ours"], case["rps"]["core"], f"{case['ratio']}×",
                         ", ".join(f"{v:g}" for v in case["rounds"]["ours"])])
    return ["### Warm requests against core /rendered with wrk", "", *(stamp or []),
            f"`benchmarks/request_targets.py`: {wrk.get('load_generator', 'wrk')}, a new window on a cached 512² CT "
            f"every request, {wrk['rounds']} rounds of {wrk['seconds_per_round']} s per case, ours and core "
            "alternating; medians of the rounds. Core has one encoder: the *fast* rows compare with core's figure "
            "at the same concurrency.", "",
            table(["case", "ours req/s", "core /rendered req/s", "ours / core", "ours per round"], rows), ""]


def path_targets(wrk: dict[str, Any] | None, request: dict[str, Any] | None, add: Add) -> None:
    """The request path against core /rendered: warm cases from wrk (``request_targets.json``),
    the cold one from the request-path run, each measured side by side in one run."""
    cases = wrk["cases"] if wrk else {}
    note = ""
    if request is not None:
        warm = request["warm"]
        own = sum(_ms(warm, n) for n in _OWN_WORK)
        note = (f"a warm request of ours spends {_ms(warm, 'answer'):.2f} ms in CompressAndAnswerPngImage and "
                f"{own:.2f} ms in its own work (largest: {_largest(warm, _OWN_WORK, 3)} ms; request-path table)")
    rows = [("warm", "warm, 512² CT, new window, concurrency 1, encoder=orthanc", 1.1),
            ("warm_fast", "warm, 512² CT, new window, concurrency 1, encoder=fast", 4.0),
            ("warm_c4", "warm, 512² CT, new window, concurrency 4, encoder=orthanc", 2.3)]
    for key, label, goal in rows:
        case = cases.get(key)
        if case is None:
            add(f"request path: {label}", f"≥ {goal}× core /rendered req/s", "", None, "")
            continue
        rps = case["rps"]
        why = note
        if key == "warm_fast" and request is not None:
            fast = request["warm_fast"]
            why = (f"zlib-ng's level 1 alone takes {_ms(fast, 'encode'):.2f} ms of the "
                   f"{fast['total_median_ms']:.2f} ms of a fast request (request-path table), and core "
                   f"/rendered {request['warm_core_rendered']['total_median_ms']:.2f} ms: "
                   f"{goal}× needs the whole request under "
                   f"{request['warm_core_rendered']['total_median_ms'] / goal:.2f} ms")
        add(f"request path: {label}", f"≥ {goal}× core /rendered req/s",
            f"{case['ratio']}× ({rps['ours']} vs {rps['core']} req/s, wrk, median of {len(case['rounds']['ours'])} "
            f"rounds)", case["ratio"] >= goal, why)
    if request is not None:
        cold, core = request["cold"], request["cold_core_rendered"]
        ratio = round(core["total_median_ms"] / cold["total_median_ms"], 2)
        add("request path: cold, 512² CT, concurrency 1, encoder=orthanc", "≥ 1.0× core /rendered req/s",
            f"{ratio}× ({cold['total_median_ms']:.2f} vs {core['total_median_ms']:.2f} ms a request, medians of "
            f"{cold['requests']} each, alternating)", ratio >= 1.0,
            f"a cold request does {sum(_ms(cold, n) for n in _OWN_WORK):.2f} ms of its own work before the "
            f"same libpng encode (largest: {_largest(cold, _OWN_WORK)} ms)")
