"""RESULTS.md from the JSON files of the runs (benchmarks/results/<section>.json).

Each section's numbers come from its own file, and under each heading one
line says when, at which commit (and how many commits touching previewer/,
static/ or native/ have landed since), with which command, on which machine
and at which load average that file was measured (benchmarks/provenance.py).

    .venv/bin/python -m benchmarks.report [--results DIR]   # RESULTS.md again (DIR: print instead)
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from . import provenance, request_report, viewer_report

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: The sections RESULTS.md shows, in its order.
SHOWN = ("pixel", "http", "request", "request_before", "request_targets", "viewer_fps", "viewer_fps_before",
         "viewer_sync", "memory")
#: Sections measured on an older revision (its package on PYTHONPATH), kept for comparison: `make bench` does
#: not repeat them (that revision's dependencies, e.g. the `deflate` module, are no longer in the venv).
REFERENCE_SECTIONS = {"request_before": "9d68be8", "viewer_fps_before": "c8857ea"}


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def load_all(folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Every section of ``folder`` that RESULTS.md shows, by name."""
    paths = ((name, folder / f"{name}.json") for name in SHOWN)
    return {name: json.loads(path.read_text()) for name, path in paths if path.exists()}


def _image(pixel: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((i for i in pixel["images"] if i["key"] == key), None)


def targets(pixel: dict[str, Any] | None, http: dict[str, Any] | None,
            memory: dict[str, Any] | None, request: dict[str, Any] | None = None,
            nproc: int = 2, wrk: dict[str, Any] | None = None) -> list[list[Any]]:
    rows: list[list[Any]] = []

    def add(case: str, target: str, measured: str, met: bool | None, why: str = "") -> None:
        rows.append([case, target, measured, "met" if met else ("not measured" if met is None else "**not met**"),
                     "" if met else why])

    ct = _image(pixel, "ct512") if pixel else None
    cr = _image(pixel, "cr") if pixel else None
    if http:
        w = http["warm_ct"]["4"]
        ratio = w["ratio_rps_vs_rendered"]
        enc = ct["encode"] if ct else None
        why = ("both routes spend most of a request in libpng: ours answers through Orthanc's "
               "CompressAndAnswerPngImage, the same encoder /rendered uses, and the 512x512 CT decode that the "
               "cache saves is small")
        if enc and ct:
            why += (f" (in process: decode+LUT {ct['previewer_ms']['decode'] + ct['previewer_ms']['modality']:.1f} ms "
                    f"saved, window+output {ct['previewer_ms']['per_window']:.1f} ms, PNG level 6 "
                    f"{enc['pillow_level6_ms']:.1f} ms)")
        why += ("; per-request Python/SDK overhead (routing, the per-request instance check through the REST "
                "API, ETag; see the request-path table) and the GIL eat the rest. The opt-in fast encoder (\"PngEncoder\": \"fast\", "
                f"{enc['fast_ms']:.1f} ms in process) removes the libpng cost; the default path must stay "
                "CompressAndAnswerPngImage" if enc else "")
        add("warm, 512² CT gray8, new window, concurrency 4", "≥ 2× core /rendered req/s",
            f"{ratio}× ({w['ours']['rps']} vs {w['core_rendered']['rps']} req/s)", ratio >= 2, why)
        fast = http.get("warm_ct_fast_c4")
        if fast:
            r = fast["ratio_rps_vs_rendered"]
            add("the same, with the opt-in fast encoder", "≥ 2× core /rendered req/s",
                f"{r}× ({fast['ours_fast']['rps']} vs {w['core_rendered']['rps']} req/s)", r >= 2,
                "see the row above")
        cold = http["cold_ct"]
        worst = min(v["ratio_rps"] for v in cold.values())
        add("cold, 512² CT (every concurrency)", "≥ 1× core /rendered",
            ", ".join(f"c{c}: {v['ratio_rps']}×" for c, v in cold.items()), worst >= 1,
            "before the same libpng encode, a cold request reads the file out of Orthanc (GetDicomForInstance: "
            "a copy of it), parses its needed elements and decodes the frame in Python (the request-path table "
            "has each stage); at concurrency 1 nothing overlaps that work (the GIL). WarmOnIngest (on by "
            "default, off in this measurement) does it in the background instead")
        crh = http["cr"]
        r = crh["cold_orthanc"]["ratio_vs_core_preview"]
        add("cold, CR 1955×1841 full size through CompressAndAnswerPngImage", "≤ 1.0× core /preview latency",
            f"{r}× ({crh['cold_orthanc']['p50_ms']} vs {crh['core_preview']['p50_ms']} ms)", r <= 1.0,
            "the libpng encode of 3.6 Mpixel dominates both and is identical")
        fast = crh.get("cold_fast", {})
        if "error" in fast:
            add("fast encoder on the same CR (cold)", "≤ 0.3× core /preview latency",
                f"Orthanc crashed: {fast['error']} (exit {fast.get('orthanc_exit_code')})", False,
                "Orthanc crashed during the fast-encoder run; see its log")
        else:
            r = fast["ratio_vs_core_preview"]
            add("fast encoder on the same CR (cold)", "≤ 0.3× core /preview latency",
                f"{r}× ({fast['p50_ms']} vs {crh['core_preview']['p50_ms']} ms)", r <= 0.3,
                "cold includes parsing and decoding 7 MB in Python; see warm_fast in the CR table")
        inm = http["if_none_match"]["4"]
        add("repeat request with If-None-Match (concurrency 4)", "≥ 10× core /rendered req/s",
            f"{inm['ratio_rps_vs_rendered']}× ({inm['ours_304']['rps']} req/s)", inm["ratio_rps_vs_rendered"] >= 10,
            "the Python load generator shares the 2 cores with Orthanc")
    else:
        for case in ("warm CT", "cold CT", "cold CR", "fast encoder", "If-None-Match"):
            add(case, "", "", None)
    if pixel:
        for key, image in (("CT 512²", ct), ("CR", cr)):
            if image is None:
                continue
            s = image["speedup_total"]
            add(f"pixel path vs naive pydicom, {key} (parse+decode+LUT+8-bit)", "≥ 5× faster",
                f"{s}× ({image['previewer_ms']['total']} vs {image['naive_ms']['total']} ms; per new window "
                f"{image['speedup_per_window']}×)", s >= 5,
                f"the naive pipeline's float64 LUT and scaling passes take "
                f"{image['naive_ms']['luts'] + image['naive_ms']['scale']:.2f} of its {image['naive_ms']['total']} "
                f"ms on this {image['megapixels']} Mpixel frame; 5× would need ours under "
                f"{image['naive_ms']['total'] / 5:.2f} ms, and it takes parse {image['previewer_ms']['parse']}, "
                f"decode {image['previewer_ms']['decode']}, modality {image['previewer_ms']['modality']} and "
                f"display {image['previewer_ms']['per_window']} ms. On large frames those passes dominate "
                "the naive cost (the CR row)")
    request_report.targets(http, pixel, request, nproc, add)
    request_report.path_targets(wrk, request, add)
    if memory:
        peak, allowed = memory["peak_rss_mb"], memory["allowed_peak_mb"]
        add("peak RSS during the mixed load (issues 5 and 13)", "≤ baseline + cache limit + 100 MB",
            f"{peak} MB (baseline {memory['baseline_rss_mb']} + {memory['cache_size_mb']} + 100 = {allowed} MB)",
            peak <= allowed,
            "the previewer's cache stays at its limit (see the memory table) and Orthanc's storage cache is off "
            "in this run. The plugin sets glibc's mmap threshold (MmapThresholdKB 256) so that freed frame "
            "arrays go back to the system: with glibc's defaults the same run peaked at 516 MB. What remains "
            "above the limit is the transient memory of cold decodes in flight (DecodeConcurrency 2; a 7 MB "
            "CR file, its dataset, and its decoded and resized arrays take several times the file size); "
            "DecodeConcurrency 1, or a cache limit lower by that margin, would meet it")
    return rows


def _quick(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else provenance.NOT_RECORDED


def overview(sections: dict[str, dict[str, Any]], root: Path = provenance.ROOT) -> list[str]:
    """The table of every section shown: when, at which commit, how stale, at which load."""
    rows = []
    for name in SHOWN:
        if name not in sections:
            continue
        p = provenance.of(sections[name])
        commit = p.get("commit")
        since = provenance.commits_since(commit, root) if commit else None
        rows.append([name + (f" (revision {REFERENCE_SECTIONS[name]})" if name in REFERENCE_SECTIONS else ""),
                     p.get("date", provenance.NOT_RECORDED), f"`{commit}`" if commit else provenance.NOT_RECORDED,
                     provenance.NOT_RECORDED if not commit else ("not in this history" if since is None else since),
                     p.get("loadavg_before", provenance.NOT_RECORDED),
                     _quick(sections[name].get("quick"))])
    return [_table(["section", "measured", "commit", "commits touching previewer/, static/, native/ since",
                    "load average at start", "quick"], rows), ""]


def render(sections: dict[str, dict[str, Any]], root: Path = provenance.ROOT,
           default_cpus: int | None = None) -> str:
    """RESULTS.md from ``sections`` (name → that section's JSON); ``root`` is the clone whose history
    tells how stale each section is; ``default_cpus`` stands in for a file that did not record its CPUs."""
    cpus = default_cpus or os.cpu_count() or 1
    pixel, http, memory, request = (sections.get(k) for k in ("pixel", "http", "memory", "request"))
    viewer, viewer_before = sections.get("viewer_fps"), sections.get("viewer_fps_before")

    def stamp(name: str, label: str = "") -> list[str]:
        return provenance.stamp(sections.get(name), cpus, root, label)

    nproc = int(provenance.of(http).get("cpus") or cpus) if http else cpus
    out = ["# Benchmark results", "",
           "Generated by `benchmarks/report.py` from `benchmarks/results/*.json`; do not edit by hand. "
           "`make bench` measures every section again except the two older revisions "
           f"({', '.join(f'{k}: {v}' for k, v in REFERENCE_SECTIONS.items())}); see `benchmarks/README.md`. "
           "Each section says when, at which commit, with which command and at which load it was measured; "
           "\"not recorded\" marks what a file from before that was recorded does not say.", "",
           *overview(sections, root),
           "## Targets", "",
           "Each row's figures come from the sections below (their dates and loads are given there).", "",
           _table(["case", "target", "measured", "status", "why not met / what would meet it"],
                  targets(pixel, http, memory, request, nproc, sections.get("request_targets"))), ""]
    if pixel:
        out += ["## Pixel path, in process", "", *stamp("pixel"),
                "Best of repeated runs, ms. *modality* is the Modality LUT stage (with metadata); *window LUT* "
                "builds the VOI table (window, inversion, quantisation), *output* maps the frame through it "
                "(for colour, and float data without a table, *output* is the whole display step). *total* = "
                "parse + decode + modality + display. *per window* = display only (a warm request's pixel work).",
                "", _table(["image", "shape", "window", "parse", "decode", "modality", "window LUT", "output",
                            "total", "Mpixel/s", "per window", "Mpixel/s per window"],
                           [[i["label"], "×".join(map(str, i["shape"])), i["window"] or "-",
                             *(i["previewer_ms"][k] for k in ("parse", "decode", "modality", "window_lut",
                                                              "output", "total")),
                             i["mpix_per_s"], i["previewer_ms"]["per_window"], i["mpix_per_s_per_window"]]
                            for i in pixel["images"]]), "",
                "### Naive pydicom pipeline", "",
                "`dcmread`, `ds.pixel_array` (all frames for a multi-frame file), `apply_modality_lut`, "
                "`apply_voi_lut` (same window), min/max scaling to uint8 with numpy.", "",
                _table(["image", "parse", "decode", "LUTs", "scale", "total", "speed-up total",
                        "speed-up per window"],
                       [[i["label"], *(i["naive_ms"][k] for k in ("parse", "decode", "luts", "scale", "total")),
                         f"{i['speedup_total']}×", f"{i['speedup_per_window']}×"] for i in pixel["images"]]), "",
                "### PNG encode of the rendered frame", "",
                "Pillow `compress_level=6` is a **proxy** for libpng's default level, which Orthanc's "
                "`CompressAndAnswerPngImage` uses; *fast* is `previewer.plugin.png.encode` (Up filter + zlib-ng level 1).",
                "", _table(["image", "format", "Pillow level 6 ms", "bytes", "fast ms", "bytes", "speed-up",
                            "size ratio"],
                           [[i["label"], i["format"], i["encode"]["pillow_level6_ms"], i["encode"]["pillow_level6_bytes"],
                             i["encode"]["fast_ms"], i["encode"]["fast_bytes"],
                             f"{i['encode']['pillow_level6_ms'] / i['encode']['fast_ms']:.1f}×",
                             f"{i['encode']['fast_bytes'] / i['encode']['pillow_level6_bytes']:.2f}"]
                            for i in pixel["images"]]), ""]
        notes = [f"- {i['label']}: {i['note']}" for i in pixel["images"] if i["note"]]
        if notes:
            out += ["Images:", "", *notes, ""]
    if http:
        out += ["## HTTP, one Orthanc process", "", *stamp("http"),
                f"Python load generator (threads, keep-alive http.client, 127.0.0.1, no gzip), "
                f"{http['duration_s']} s per point; the load generator runs on the same 2 CPUs "
                "(its CPU per request is listed). Warm: 8 CT instances already in the cache, a new window "
                "on every request (ours and core /rendered alike). Cold: each request on a freshly uploaded "
                f"instance (WarmOnIngest off), {http['cold_requests_per_level']} per level, then core "
                "/rendered on the same instances.", "",
                "### 512×512 CT, warm", "",
                _table(["concurrency", "ours req/s", "p50 ms", "p99 ms", "core /rendered req/s", "p50", "p99",
                        "core /preview req/s", "p50", "p99", "ours / rendered", "ours / preview",
                        "client CPU ms/req"],
                       [[c, v["ours"]["rps"], v["ours"]["p50_ms"], v["ours"]["p99_ms"],
                         v["core_rendered"]["rps"], v["core_rendered"]["p50_ms"], v["core_rendered"]["p99_ms"],
                         v["core_preview"]["rps"], v["core_preview"]["p50_ms"], v["core_preview"]["p99_ms"],
                         f"{v['ratio_rps_vs_rendered']}×", f"{v['ratio_rps_vs_preview']}×",
                         v["ours"]["client_cpu_ms_per_request"]] for c, v in http["warm_ct"].items()]), "",
                "### 512×512 CT, cold", "",
                _table(["concurrency", "ours req/s", "p50 ms", "p99 ms", "core /rendered req/s", "p50", "p99",
                        "ratio"],
                       [[c, v["ours"]["rps"], v["ours"]["p50_ms"], v["ours"]["p99_ms"], v["core_rendered"]["rps"],
                         v["core_rendered"]["p50_ms"], v["core_rendered"]["p99_ms"], f"{v['ratio_rps']}×"]
                        for c, v in http["cold_ct"].items()]), "",
                "### Repeat request with If-None-Match (304)", "",
                _table(["concurrency", "304 req/s", "p50 ms", "p99 ms", "vs core /rendered req/s"],
                       [[c, v["ours_304"]["rps"], v["ours_304"]["p50_ms"], v["ours_304"]["p99_ms"],
                         f"{v['ratio_rps_vs_rendered']}×"]
                        for c, v in http["if_none_match"].items() if c != "etag"]), "",
                "### CR 1955×1841, full size, sequential requests (one new connection each)", "",
                "Core /preview and /rendered on one instance; *cold* = first request on a fresh instance; "
                "*warm* = cached frame, new window each request. The fast encoder runs in its own Orthanc "
                "process.", "",
                _table(["request", "p50 ms", "min", "max", "bytes", "vs core /preview"],
                       [[k, v.get("p50_ms", "-"), v.get("min_ms", "-"), v.get("max_ms", "-"),
                         v.get("mean_bytes", "-"),
                         f"{v['ratio_vs_core_preview']}×" if "ratio_vs_core_preview" in v
                         else f"ERROR: {v.get('error')} (exit {v.get('orthanc_exit_code')})"]
                        for k, v in http["cr"].items()]), "",
                "### REST lock: SerializeRequests", "",
                _table(["concurrency", "false req/s", "p50", "p99", "true req/s", "p50", "p99", "false / true"],
                       [[c, v["serialize_false"]["rps"], v["serialize_false"]["p50_ms"],
                         v["serialize_false"]["p99_ms"], v["serialize_true"]["rps"], v["serialize_true"]["p50_ms"],
                         v["serialize_true"]["p99_ms"], f"{v['ratio_rps_false_vs_true']}×"]
                        for c, v in http["serialize"].items()]), "",
                "### Ingest (sequential POST /instances of 512×512 CT copies)", "",
                _table(["WarmOnIngest", "instances", "seconds", "instances/s", "warm-up queue drained after"],
                       [["false", http["ingest_warm_off"]["instances"], http["ingest_warm_off"]["seconds"],
                         http["ingest_warm_off"]["instances_per_s"], "-"],
                        ["true", http["ingest_warm_on"]["instances"], http["ingest_warm_on"]["seconds"],
                         http["ingest_warm_on"]["instances_per_s"],
                         f"{http['ingest_warm_on']['warmup_drained_after_s']} s"]]), ""]
    if request:
        out += request_report.section(request, _table, sections.get("request_before"), stamp("request"),
                                      stamp("request_before", f"Revision {REFERENCE_SECTIONS['request_before']}"))
    out += request_report.wrk_section(sections.get("request_targets"), _table, stamp("request_targets"))
    out += viewer_report.section(viewer, viewer_before, _table, stamp("viewer_fps"),
                                 stamp("viewer_fps_before", f"*before* ({REFERENCE_SECTIONS['viewer_fps_before']})"))
    out += viewer_report.sync_section(sections.get("viewer_sync"), _table, stamp("viewer_sync"))
    out += viewer_report.mpr_section(viewer, _table, stamp("viewer_fps", "The viewer_fps run"))
    if memory:
        m = memory
        out += ["## Memory", "", *stamp("memory"),
                f"CacheSizeMB {m['cache_size_mb']}; {m['duration_s']} s of mixed load at concurrency 4 "
                f"({m['load']['requests']} requests, {m['load']['rps']} req/s, statuses {m['load']['statuses']}) "
                f"over {m['instances']['ct']} CT, {m['instances']['cr']} CR and a 120-frame US; "
                f"VmRSS sampled {m['samples']} times.", "",
                _table(["baseline MB", "peak MB", "end MB", "peak - baseline MB", "allowed peak MB",
                        "cache bytes at end", "cache entries", "evictions"],
                       [[m["baseline_rss_mb"], m["peak_rss_mb"], m["end_rss_mb"], m["peak_minus_baseline_mb"],
                         m["allowed_peak_mb"], m["cache_stats"].get("bytes"), m["cache_stats"].get("entries"),
                         m["cache_stats"].get("evictions", "-")]]), ""]
    return "\n".join(out) + "\n"


def write(results: Path = RESULTS, out: Path = HERE / "RESULTS.md") -> Path:
    """Regenerate ``out`` from every section's JSON in ``results``."""
    out.write_text(render(load_all(results)))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, help="print the report of this folder instead of writing RESULTS.md")
    args = parser.parse_args(argv)
    if args.results is None:
        print(write())
    else:
        print(render(load_all(args.results)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
