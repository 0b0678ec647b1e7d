"""Multi-node benchmark: 1 and 2 Orthanc nodes on one PostgreSQL index, behind nginx.

``python -m benchmarks.cluster [--quick]`` writes ``benchmarks/results/cluster.json``.

One local PostgreSQL (previewer.serve.cluster.LocalPostgres) holds the index for
every run; the instances are uploaded once.  For each node count (1, then 2)
fresh Orthanc nodes (empty caches, WarmOnIngest off) and nginx are started,
and the load generator (concurrency 16) goes through nginx:

- ``cold``: each request a different 512x512 CT instance, never decoded on
  any node: parse + decode + Modality LUT + VOI + PNG encode;
- ``warm``: 32 instances already decoded on every node, a new window each
  request (the small-render cache never answers): VOI + encode;
- ``repeat``: 64 instances, each asked 4 times with different windows,
  round-robin: how often a request finds its decoded frame in the answering
  node's cache (the decode hit rate), with 1 node and with 2.

CPU seconds of the Orthanc nodes, nginx and PostgreSQL are read from /proc
around each run, for CPU-ms per request.  With one node, the figures for the
capacity plan (docs/OPERATIONS.md) are also measured at concurrency 1, node
direct: cold render latency of the CT (0.26 MP) and the CR (3.6 MP), giving
a cost per megapixel; a warm request; and the per-request version check
(``instance_file_uuid``, one REST call into Orthanc's index) timed in
process through tests/plugin_probe.py, on PostgreSQL and, for comparison, on
a single node with Orthanc's default SQLite index.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from previewer.serve.cluster import Cluster, LocalPostgres, consecutive_free_ports, free_port

from . import corpus, load
from .http_bench import fetch, new_window, ours, upload_all
from .server import COMMON, BenchOrthanc

RESULTS = Path(__file__).resolve().parent / "results" / "cluster.json"
PROBE = str(Path(__file__).resolve().parent.parent / "tests" / "plugin_probe.py")
CONCURRENCY = 16
CT_MP = 512 * 512 / 1e6
CR_MP = 1955 * 1841 / 1e6


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cpu(pids: list[int]) -> float:
    """utime + stime of the processes, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def _groups(cluster: Cluster, postgres: LocalPostgres) -> dict[str, list[int]]:
    postmaster = int((postgres.folder / "postmaster.pid").read_text().split()[0])
    nginx = cluster.balancer.process.pid if cluster.balancer and cluster.balancer.process else 0
    return {"orthanc": [n.process.pid for n in cluster.nodes if n.process],
            "nginx": [nginx, *_children(nginx)], "postgres": [postmaster, *_children(postmaster)]}


def _measured(cluster: Cluster, postgres: LocalPostgres, run: Any) -> dict[str, Any]:
    """``run()`` (a load.LoadResult) with the CPU-ms per request of each process group."""
    groups = _groups(cluster, postgres)
    before = {k: _cpu(v) for k, v in groups.items()}
    result = run()
    after = {k: _cpu(v) for k, v in groups.items()}
    out: dict[str, Any] = result.as_dict()
    out["server_cpu_ms_per_request"] = {k: round((after[k] - before[k]) * 1000 / max(result.requests, 1), 2)
                                        for k in groups}
    return out


def _stats(cluster: Cluster) -> list[dict[str, Any]]:
    stats: list[dict[str, Any]] = [json.loads(fetch(n.http_port, "/previewer/stats")[2]) for n in cluster.nodes]
    return stats


def _latency_ms(port: int, paths: list[str], pid: int) -> tuple[float, float]:
    """Sequential requests: median latency and the node's CPU-ms per request."""
    times = []
    cpu0 = _cpu([pid])
    for path in paths:
        status, _, body, seconds = fetch(port, path)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body[:200]!r}")
        times.append(seconds * 1000)
    return round(statistics.median(times), 2), round((_cpu([pid]) - cpu0) * 1000 / len(paths), 2)


def _version_check_us(port: int, instance: str, n: int) -> float:
    status, _, body, _ = fetch(port, f"/probe/loop?kind=instance_file_uuid&n={n}&arg={instance}")
    if status != 200:
        raise RuntimeError(f"probe: {status} {body[:200]!r}")
    return round(float(json.loads(body)["seconds"]) / n * 1e6, 1)


def _single_node_figures(cluster: Cluster, ct_ids: list[str], cr_ids: list[str], warm_ids: list[str],
                         quick: bool) -> dict[str, Any]:
    port = cluster.nodes[0].http_port
    pid = cluster.nodes[0].process.pid if cluster.nodes[0].process else 0
    cold_ct, cold_ct_cpu = _latency_ms(port, [ours(i, "window=40,400") for i in ct_ids], pid)
    cold_cr, cold_cr_cpu = _latency_ms(port, [ours(i) for i in cr_ids], pid)
    for i in warm_ids:
        fetch(port, ours(i))
    warm_paths = []
    for k in range(40):
        c, w = new_window()
        warm_paths.append(ours(warm_ids[k % len(warm_ids)], f"window={c:g},{w:g}"))
    warm, warm_cpu = _latency_ms(port, warm_paths, pid)
    n = 200 if quick else 1000
    check_pg = _version_check_us(port, warm_ids[0], n)
    per_mp = (cold_cr_cpu - cold_ct_cpu) / (CR_MP - CT_MP)
    return {
        "cold_ct512_ms": cold_ct, "cold_ct512_cpu_ms": cold_ct_cpu, "cold_cr_ms": cold_cr,
        "cold_cr_cpu_ms": cold_cr_cpu, "ct_megapixels": round(CT_MP, 3), "cr_megapixels": round(CR_MP, 3),
        "warm_ct512_new_window_ms": warm, "warm_ct512_new_window_cpu_ms": warm_cpu,
        # Linear fit through the two images' CPU cost: fixed + per_mp * megapixels.
        "cold_cpu_ms_per_megapixel": round(per_mp, 1),
        "cold_cpu_fixed_ms": round(cold_ct_cpu - per_mp * CT_MP, 1),
        "version_check_us_postgresql": check_pg,
        "version_check_share_of_warm_request": round(check_pg / 1000 / warm, 3),
    }


def _sqlite_version_check(blob: bytes, n: int) -> dict[str, Any]:
    server = BenchOrthanc({"WarmOnIngest": False, "TestModules": [PROBE]}).start()
    try:
        ids, _ = upload_all(server.port, [blob])
        fetch(server.port, ours(ids[0]))
        return {"version_check_us_sqlite": _version_check_us(server.port, ids[0], n)}
    finally:
        server.cleanup()


def _repeat(cluster: Cluster, ids: list[str]) -> dict[str, Any]:
    """Each instance 4 times, new windows, round-robin through nginx: the decode hit rate."""
    before = _stats(cluster)
    paths = []
    for _ in range(4):
        for i in ids:
            c, w = new_window()
            paths.append(ours(i, f"window={c:g},{w:g}"))
    # A fixed shuffle: which node answers a request is then independent of its instance
    # (in a plain loop, round-robin would send each instance to the same node every time).
    random.Random(7).shuffle(paths)
    result = load.run(cluster.balancer.port if cluster.balancer else 0, lambda k: (paths[k], {}), CONCURRENCY,
                      count=len(paths))
    after = _stats(cluster)
    misses = sum(a["cache"]["misses"] - b["cache"]["misses"] for a, b in zip(after, before))
    # Every request misses its (new-window) render key once; the other misses are decodes.
    decodes = misses - result.requests
    return {"requests": result.requests, "decodes": decodes, "decode_hit_rate": round(1 - decodes / result.requests, 3),
            "rps": result.rps, "statuses": result.statuses}


def run(quick: bool) -> dict[str, Any]:
    duration = 3.0 if quick else 8.0
    n_cold = 160 if quick else 480
    folder = Path(tempfile.mkdtemp(prefix="previewer-cluster-bench-"))
    folder.chmod(0o755)
    results: dict[str, Any] = {"concurrency": CONCURRENCY, "duration_s": duration, "cpus": os.cpu_count(),
                               "loadavg_before": os.getloadavg()}
    postgres = LocalPostgres(folder / "postgres")
    postgres.start()
    settings = postgres.settings
    url = (f"postgresql://{settings.username}:{settings.password}@{settings.host}:{settings.port}/"
           f"{settings.database}")
    ct_blobs = corpus.copies(corpus.ct_path(), n_cold + 16 + 32 + 64)
    cr_blobs = corpus.copies(corpus.cr_path(), 4)
    ids: dict[str, list[str]] = {}
    try:
        for nodes in (1, 2):
            print(f"  cluster: {nodes} node(s)", flush=True)
            http_port = consecutive_free_ports(nodes)
            dicom_port = consecutive_free_ports(nodes, avoid=tuple(range(http_port, http_port + nodes)))
            cluster = Cluster(folder, nodes, http_port, dicom_port, url, balancer_port=free_port(),
                              previewer={"WarmOnIngest": False, "TestModules": [PROBE]}, extra=dict(COMMON))
            cluster.start()
            try:
                assert cluster.balancer is not None
                port = cluster.balancer.port
                if not ids:
                    all_ct, seconds = upload_all(port, ct_blobs, concurrency=4)
                    ids["cr"], _ = upload_all(port, cr_blobs)
                    results["ingest_through_nginx_1_node"] = {"instances": len(ct_blobs),
                                                              "instances_per_s": round(len(ct_blobs) / seconds, 1)}
                    ids["latency"], rest = all_ct[:16], all_ct[16:]
                    ids["warm"], rest = rest[:32], rest[32:]
                    ids["repeat"], ids["cold"] = rest[:64], rest[64:]
                    results["single_node"] = _single_node_figures(cluster, ids["latency"], ids["cr"], ids["warm"],
                                                                  quick)
                entry: dict[str, Any] = {}
                cold = ids["cold"]
                entry["cold"] = _measured(cluster, postgres, lambda: load.run(
                    port, lambda i: (ours(cold[i], "window=40,400"), {}), CONCURRENCY, count=len(cold)))
                for node in cluster.nodes:
                    for i in ids["warm"]:
                        fetch(node.http_port, ours(i))

                def warm_request(i: int) -> tuple[str, dict[str, str]]:
                    c, w = new_window()
                    return ours(ids["warm"][i % len(ids["warm"])], f"window={c:g},{w:g}"), {}

                entry["warm"] = _measured(cluster, postgres, lambda: load.run(
                    port, warm_request, CONCURRENCY, duration=duration, warmup=1))
                entry["repeat"] = _repeat(cluster, ids["repeat"])
                results[f"{nodes}_node" + ("s" if nodes > 1 else "")] = entry
            finally:
                cluster.stop()
        one, two = results["1_node"], results["2_nodes"]
        results["speedup_2_vs_1"] = {k: round(two[k]["rps"] / one[k]["rps"], 2) for k in ("cold", "warm")}
        results["single_node"].update(_sqlite_version_check(ct_blobs[0], 200 if quick else 1000))
    finally:
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    results["loadavg_after"] = os.getloadavg()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args()
    start = time.monotonic()
    results = run(args.quick)
    results["wall_s"] = round(time.monotonic() - start, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: results[k] for k in ("speedup_2_vs_1", "single_node")}, indent=1))
    for nodes in ("1_node", "2_nodes"):
        entry = results[nodes]
        print(f"{nodes}: cold {entry['cold']['rps']} req/s, warm {entry['warm']['rps']} req/s, "
              f"decode hit rate {entry['repeat']['decode_hit_rate']}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
