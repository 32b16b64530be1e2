#!/usr/bin/env python3
"""Benchmark of serving a cut model on Ray Serve (issue 10).

On one machine, for the same model and the same inputs, in the same run:

- `whole in-process`: the whole model in one ONNX Runtime session, called
  directly (the peer: no serving at all);
- `whole, 1 stage`: the whole model served by `modelcut.serve` (HTTP + the
  ingress + one stage), to show what HTTP and Ray Serve cost by themselves;
- `2 stages`, `3 stages`: the model cut by `modelcut split` and served as a
  chain, one deployment per part;
- `split computing`: the first part of the 2-stage cut run here on ONNX
  Runtime, only the values at the cut sent over HTTP to the served second
  part (modelcut.serve.run_split, as `modelcut run --remote` does).

Every served request goes over HTTP on 127.0.0.1 as .npz. For each, the
table gives requests/s and p50/p99 latency with 1 client and with
--clients clients at once (closed loop: each sends its next request when
the last is answered), the bytes sent and received per request, the bytes
crossing each cut inside the chain, and the resident memory of the
serving processes (the replicas and the ingress, from /proc), and how much
of a request the served parts' own ONNX Runtime runs take (the rest is
HTTP, Ray Serve and the transfers; from X-Modelcut-Timing). Each stage
replica runs ONNX Runtime on one thread. The first answers are checked
against the whole model's (bit for bit). The model is torchvision's
ResNet-18 with random weights, exported by torch.onnx, 224x224, batch 1.

    python bench/serve_bench.py [--requests 100] [--clients 4] [--dir /tmp/modelcut-serve-bench]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on 127.0.0.1 only

import modelcut
import numpy as np


def make_model(folder: str) -> str:
    path = os.path.join(folder, "resnet18.onnx")
    if os.path.exists(path):
        return path
    import torch
    import torchvision

    model = torchvision.models.resnet18(weights=None).eval()
    example = torch.randn(1, 3, 224, 224)
    torch.onnx.export(
        model,
        (example,),
        path,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        dynamo=False,
    )
    return path


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def closed_loop(call, requests: int, clients: int) -> dict:
    """`requests` calls spread over `clients` threads; latencies and rate."""
    latencies = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def client():
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            start = time.perf_counter()
            call()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - start
    return {
        "rate": requests / total,
        "p50_ms": 1e3 * percentile(latencies, 50),
        "p99_ms": 1e3 * percentile(latencies, 99),
    }


def serving_rss_mb(app: str) -> float:
    """Resident memory of this application's replica processes (Ray names
    them ray::ServeReplica:APP:DEPLOYMENT)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ")
            if f"ServeReplica:{app}:".encode() not in command:
                continue
            with open(f"/proc/{pid}/status") as file:
                for line in file:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100, help="requests per measurement (default 100)")
    parser.add_argument(
        "--clients", type=int, default=4, help="clients at once in the second run (default 4)"
    )
    parser.add_argument("--dir", default="/tmp/modelcut-serve-bench", help="where the model and parts go")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    import ray
    from modelcut._ort import make_session, random_inputs
    from modelcut.serve import Client, deploy, run_split
    from modelcut.serve.wire import encode_npz

    model = make_model(args.dir)
    two = modelcut.split(model, at=["layer2"], output_dir=os.path.join(args.dir, "two"), overwrite=True)
    three = modelcut.split(
        model, at=["layer1", "layer3"], output_dir=os.path.join(args.dir, "three"), overwrite=True
    )
    feeds = random_inputs(model, seed=0, batch=1)
    session = make_session(model)
    whole = session.run(None, feeds)[0]

    ray.init(
        num_cpus=8,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level="WARNING",
    )
    rows = []

    def cut_bytes(parts):
        return [
            sum(value.nbytes for value in modelcut.run_chain(parts[: k + 1], feeds).values())
            for k in range(len(parts) - 1)
        ]

    def measure(name, call, sent, received, cuts="-", app=None, exchange=None):
        call()  # warm
        row = {"name": name, "sent": sent, "received": received, "cuts": cuts}
        row["one"] = closed_loop(call, args.requests, 1)
        row["many"] = closed_loop(call, args.requests, args.clients)
        row["rss"] = serving_rss_mb(app) if app else None
        row["in_stages"] = None
        if exchange is not None:  # how much of a request is the parts' own runs
            sums = [sum(exchange().server["stages_s"]) for _ in range(20)]
            row["in_stages"] = 1e3 * statistics.median(sums)
        rows.append(row)
        print(f"  {name}: {row['one']['rate']:.1f} req/s with 1 client", file=sys.stderr, flush=True)

    measure("whole in-process (peer)", lambda: session.run(None, feeds), 0, 0)
    port = 8765
    chains = [
        ("whole, 1 stage", "bench1", [model]),
        ("2 stages", "bench2", two.paths),
        ("3 stages", "bench3", three.paths),
    ]
    for name, app, parts in chains:
        served = deploy(parts, {"name": app, "port": port, "route": f"/{app}"})
        client = Client(served.url)
        check = client.exchange(feeds)
        assert np.array_equal(check.outputs["logits"], whole), name
        measure(
            name,
            lambda client=client: client.run(feeds),
            check.sent_bytes,
            check.received_bytes,
            ", ".join(f"{b / 1024:.0f} KiB" for b in cut_bytes(parts)) or "-",
            app,
            lambda client=client: client.exchange(feeds),
        )
        if app != "bench2":
            served.shutdown()
        else:
            tail_parts = parts
    tail = deploy(tail_parts[1:], {"name": "benchtail", "port": port, "route": "/benchtail"})
    head = make_session(tail_parts[0])
    done = run_split([head], tail.url, feeds)
    assert np.array_equal(done.outputs["logits"], whole)
    measure(
        "split computing (head here)",
        lambda: run_split([head], tail.url, feeds),
        done.exchange.sent_bytes,
        done.exchange.received_bytes,
        f"{done.exchange.sent_bytes / 1024:.0f} KiB sent",
        "benchtail",
        lambda: run_split([head], tail.url, feeds).exchange,
    )
    ray.shutdown()

    peer = rows[0]
    print(
        f"\nResNet-18 (random weights), 224x224, batch 1; {args.requests} requests per run; "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
        f"request .npz {len(encode_npz(feeds)) / 1024:.0f} KiB\n"
    )
    print(
        f"| setup | req/s, 1 client | p50 ms | p99 ms | req/s, {args.clients} clients | p50 ms | p99 ms "
        "| p50 vs peer | served parts' runs, ms | sent / received per request | values crossing each cut "
        "| serving RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for row in rows:
        one, many = row["one"], row["many"]
        extra = f"+{one['p50_ms'] - peer['one']['p50_ms']:.1f} ms" if row is not peer else "-"
        traffic = f"{row['sent'] / 1024:.0f} KiB / {row['received'] / 1024:.1f} KiB" if row["sent"] else "-"
        rss = f"{row['rss']:.0f}" if row["rss"] else "-"
        in_stages = f"{row['in_stages']:.1f}" if row["in_stages"] is not None else "-"
        print(
            f"| {row['name']} | {one['rate']:.1f} | {one['p50_ms']:.1f} | {one['p99_ms']:.1f} | "
            f"{many['rate']:.1f} | {many['p50_ms']:.1f} | {many['p99_ms']:.1f} | {extra} | {in_stages} | {traffic} | "
            f"{row['cuts']} | {rss} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
