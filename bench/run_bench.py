#!/usr/bin/env python3
"""Benchmark of modelcut split against other ways to cut an ONNX model.

On the same inputs, the same cuts and the same machine, in one run, it times:

- cp of the model's files (the floor: the least any tool that copies the
  weights has to do);
- modelcut split in each --weights mode (auto, inline, external, in-place);
- onnx.utils.extract_model, onnx-graphsurgeon and sne4onnx (bench/peers.py),
  given the boundary tensors modelcut reports, making the same two parts.

Each measurement is one fresh child process: wall time is time.perf_counter()
around it, peak RSS is the child's ru_maxrss from os.wait4(). Before each
measurement the output of the previous one is deleted, dirty pages are
flushed (sync) and the model's files are read once so that they are in the
page cache: every tool starts from a warm cache, none pays for another's
writeback. Short commands take the best of --repeat runs; the other tools run
--peer-repeat times (default once) with a --timeout.

The parts that modelcut writes in every mode, and those of the other tools,
are checked with `modelcut verify` (ONNX Runtime) on the 1.2 GB model, and
structurally (inputs, outputs, nodes, weights, onnx.checker) on every model.

    python bench/run_bench.py [--dir /tmp/modelcut-bench] [--json results.json]

The inputs are built by bench/make_models.py on first use (not timed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_models  # noqa: E402

REPO = os.path.dirname(HERE)
PYTHON = sys.executable
MODELCUT = os.path.join(os.path.dirname(PYTHON), "modelcut")
MODES = ["auto", "inline", "external", "in-place"]
PEERS = ["extract_model", "graphsurgeon", "sne4onnx"]
VERIFY_MODELS = {"enc24_d1024"}  # ORT verification: on the 1.2 GB model


# ---------------------------------------------------------------- measuring


def warm(files: list[str]) -> None:
    """Read FILES once so that they are in the page cache."""
    buf = bytearray(64 << 20)
    for path in files:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def measure(cmd: list[str], log: str, timeout: float, mem_limit: int) -> dict:
    """Run CMD in a fresh process; wall seconds, peak RSS MB, exit code.

    The timing is done by bench/measure_child.py, a small process of its own
    (see there why)."""
    result = log + ".result.json"
    remove([result])
    with open(log + ".out", "wb") as out, open(log + ".err", "wb") as err:
        subprocess.run(
            [
                PYTHON,
                "-S",
                os.path.join(HERE, "measure_child.py"),
                result,
                str(timeout),
                str(mem_limit),
                *cmd,
            ],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            check=True,
        )
    with open(result) as f:
        r = json.load(f)
    with open(log + ".err", "rb") as f:
        err_tail = f.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
    if r["rc"] == 0:
        r["error"] = ""
    elif r["timed_out"]:
        r["error"] = f"timed out after {timeout:.0f} s"
    elif r["rc"] < 0:
        r["error"] = f"killed by {signal.Signals(-r['rc']).name}" + (
            f": {err_tail[0][:150]}" if err_tail[0] else ""
        )
    else:
        r["error"] = err_tail[0][:200]
    r["cmd"] = cmd
    return r


def best_of(n: int, run) -> dict:
    """Call RUN() N times (stopping at the first failure); keep the fastest."""
    results = []
    for _ in range(n):
        r = run()
        results.append(r)
        if r["rc"] != 0:
            return r
    best = min(results, key=lambda r: r["wall"])
    best["runs"] = [round(r["wall"], 3) for r in results]
    best["rss_mb"] = max(r["rss_mb"] for r in results)
    return best


def remove(paths) -> None:
    for p in paths:
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.lexists(p):
            os.remove(p)


# ---------------------------------------------------------------- checking


def part_files(part_paths: list[str]) -> list[str]:
    """The part .onnx files plus the external data files they reference."""
    import onnx

    files = []
    for path in part_paths:
        files.append(path)
        model = onnx.load(path, load_external_data=False)
        for t in model.graph.initializer:
            for kv in t.external_data:
                if kv.key == "location":
                    f = os.path.join(os.path.dirname(path), kv.value)
                    if f not in files:
                        files.append(f)
    return files


def describe_parts(part_paths: list[str], check: bool, model_files: list[str]) -> list[dict]:
    """Inputs, outputs, nodes, initializers and weight bytes of each part.

    file_bytes counts the part's own files, not the model's files that
    in-place parts read their weights from."""
    import onnx

    out = []
    for path in part_paths:
        info = {"path": path}
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception as e:
            info["error"] = f"load: {str(e).splitlines()[0][:160]}"
            info["file_bytes"] = os.path.getsize(path)
            out.append(info)
            continue
        g = model.graph
        weight_bytes = 0
        locations = set()
        for t in g.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                kv = {e.key: e.value for e in t.external_data}
                weight_bytes += int(kv.get("length", 0))
                locations.add(kv.get("location"))
            else:
                weight_bytes += len(t.raw_data)
        info.update(
            inputs=[i.name for i in g.input],
            outputs=[o.name for o in g.output],
            nodes=len(g.node),
            computing_nodes=sum(1 for n in g.node if n.op_type != "Constant"),
            initializers=len(g.initializer),
            weight_bytes=weight_bytes,
            data_files=sorted(locations),
            file_bytes=sum(
                os.path.getsize(f) for f in part_files([path]) if os.path.abspath(f) not in model_files
            ),
        )
        if check:
            try:
                onnx.checker.check_model(path, full_check=False)
                info["checker"] = "ok"
            except Exception as e:
                info["checker"] = str(e).strip().splitlines()[0][:200]
        out.append(info)
    return out


def compare_parts(got: list[dict], ref: list[dict]) -> tuple[str, str]:
    """How a tool's parts differ from modelcut's auto parts: (short, long)."""
    if len(got) != len(ref):
        return f"{len(got)} parts", f"{len(got)} parts, expected {len(ref)}"
    short, notes = [], []
    for k, (g, r) in enumerate(zip(got, ref), 1):
        if "error" in g:
            short.append(f"part{k} unreadable")
            notes.append(f"part{k} cannot be read back: {g['error']}")
            continue
        if g["inputs"] != r["inputs"] or g["outputs"] != r["outputs"]:
            short.append(f"part{k} inputs/outputs differ")
            notes.append(
                f"part{k} inputs {g['inputs']} outputs {g['outputs']}, modelcut {r['inputs']} {r['outputs']}"
            )
        if (
            g["computing_nodes"] != r["computing_nodes"]
            or g["initializers"] != r["initializers"]
            or g["weight_bytes"] != r["weight_bytes"]
        ):
            short.append(f"part{k} has {g['initializers']}/{r['initializers']} weights")
            notes.append(
                f"part{k} has {g['computing_nodes']} non-Constant nodes and "
                f"{g['initializers']} weights ({g['weight_bytes'] / 1e9:.3f} GB), "
                f"modelcut {r['computing_nodes']} and {r['initializers']} "
                f"({r['weight_bytes'] / 1e9:.3f} GB)"
            )
        if g.get("checker", "ok") != "ok":
            short.append(f"part{k} fails checker")
            notes.append(f"part{k} fails onnx.checker: {g['checker']}")
    if not notes:
        return "same", "same inputs, outputs, nodes and weights as modelcut auto; onnx.checker ok"
    return "; ".join(short), "; ".join(notes)


def verify(model: str, part_paths: list[str], log: str, timeout: float) -> dict:
    cmd = [MODELCUT, "verify", "--json", model, *part_paths]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"verify > {timeout:.0f} s", "ok": False}
    with open(log + ".verify.out", "w") as f:
        f.write(proc.stdout + "\n" + proc.stderr)
    seconds = time.perf_counter() - t0
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        m = re.search(r"Load model from (\S+) failed:(.*)", last)
        if m:
            last = f"ORT cannot load {os.path.basename(m.group(1))}: {m.group(2).strip()}"
        return {"status": f"FAIL: {last[:150]}", "ok": False, "seconds": seconds}
    outs = report.get("outputs", [])
    max_abs = max((o["max_abs"] for o in outs), default=float("nan"))
    identical = bool(outs) and all(o["identical"] for o in outs)
    if report["ok"]:
        status = "OK, bit-identical" if identical else f"OK, max abs {max_abs:.1e}"
    else:
        status = f"FAIL, max abs {max_abs:.1e} {'; '.join(report.get('problems', []))}"[:120]
    return {
        "status": status,
        "ok": report["ok"],
        "max_abs": max_abs,
        "identical": identical,
        "seconds": seconds,
    }


# ---------------------------------------------------------------- the run


def machine_info(out_dir: str) -> dict:
    mem = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            mem[k] = int(v.split()[0]) * 1024
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in [
        "modelcut",
        "onnx",
        "onnxruntime",
        "onnx-graphsurgeon",
        "sne4onnx",
        "torch",
        "numpy",
        "protobuf",
    ]:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    cp_version = subprocess.run(["cp", "--version"], capture_output=True, text=True).stdout
    fs = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "-T", out_dir], capture_output=True, text=True
    ).stdout.strip()
    try:
        import modelcut._core as core

        built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(core.__file__)))
    except ImportError:
        built = "?"
    return {
        "modelcut_built": built,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem["MemTotal"] / 2**30, 1),
        "disk_free_gb": round(shutil.disk_usage(out_dir).free / 1e9, 1),
        "filesystem": fs or "?",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cp": cp_version.splitlines()[0] if cp_version else "?",
        "repo_commit": commit,
        "versions": versions,
    }


def cut_names(name: str) -> list[tuple[str, str]]:
    layers = make_models.MODELS[name][0]
    return [("middle", f"encoder.layers.{layers // 2 - 1}"), ("quarter", f"encoder.layers.{layers // 4 - 1}")]


def probe_cut(model: str, layer: str, log: str) -> dict:
    """What crosses the cut, from an untimed in-place modelcut split --json."""
    proc = subprocess.run(
        [MODELCUT, "split", model, "--at", layer, "--weights", "in-place", "--json", "-q"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"modelcut split {model} --at {layer} failed: {proc.stderr.strip()}")
    with open(log + ".probe.json", "w") as f:
        f.write(proc.stdout)
    report = json.loads(proc.stdout)
    remove(p["path"] for p in report["parts"])
    return report


def run(args) -> dict:
    root = os.path.abspath(args.dir)
    out_root = os.path.join(root, "out")
    logs = os.path.join(root, "logs")
    os.makedirs(logs, exist_ok=True)
    remove([out_root])
    os.makedirs(out_root)

    print("building / finding the models (not timed) ...", flush=True)
    models = make_models.ensure_models(root, args.models)
    info = machine_info(out_root)
    results = {"machine": info, "args": vars(args), "rows": []}
    print_machine(info)
    mem_limit = int(args.mem_limit_gib * 2**30)
    t_start = time.perf_counter()

    for name, model in models.items():
        _, files = make_models.model_paths(root, name)
        files = [os.path.abspath(f) for f in files]
        size = sum(os.path.getsize(f) for f in files)
        stem = name
        folder = os.path.dirname(model)

        def timed(cmd, outputs, tag, repeat, timeout, files=files):
            def once():
                remove(outputs)
                os.sync()
                warm(files)
                return measure(cmd, os.path.join(logs, tag), timeout, mem_limit)

            return best_of(repeat, once)

        # cp floor
        dest = os.path.join(out_root, "cp")
        os.makedirs(dest)
        r = timed(
            ["cp", *files, dest],
            [os.path.join(dest, os.path.basename(f)) for f in files],
            f"{name}.cp",
            args.repeat,
            args.timeout,
        )
        remove([dest])
        cp_wall = r["wall"]
        row = dict(input=name, size_gb=size / 1e9, cut="-", layer="-", tool="cp (floor)", **r)
        results["rows"].append(row)
        print_row(row, cp_wall)

        for cut, layer in cut_names(name):
            tag = f"{name}.{cut}"
            probe = probe_cut(model, layer, os.path.join(logs, tag))
            spec = {
                "stem": stem,
                "parts": [{"inputs": p["inputs"], "outputs": p["outputs"]} for p in probe["parts"]],
            }
            spec_path = os.path.join(logs, tag + ".spec.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f, indent=1)
            crossing = [t["name"] for t in probe["parts"][0]["outputs"]]
            block = []
            reference = None

            for mode in MODES:
                if mode == "in-place":
                    cmd = [MODELCUT, "split", model, "--at", layer, "--weights", mode, "-q"]
                    parts = [os.path.join(folder, os.path.basename(p["path"])) for p in probe["parts"]]
                    outputs = parts
                else:
                    dest = os.path.join(out_root, f"modelcut-{mode}")
                    cmd = [MODELCUT, "split", model, "--at", layer, "-o", dest, "--weights", mode, "-q"]
                    parts = [os.path.join(dest, os.path.basename(p["path"])) for p in probe["parts"]]
                    outputs = [dest]
                r = timed(cmd, outputs, f"{tag}.modelcut-{mode}", args.repeat, args.timeout)
                row = dict(
                    input=name,
                    size_gb=size / 1e9,
                    cut=cut,
                    layer=layer,
                    crossing=crossing,
                    tool=f"modelcut {mode}",
                    **r,
                )
                if r["rc"] == 0:
                    row["parts"] = describe_parts(parts, args.check, files)
                    if mode == "auto":
                        reference = row["parts"]
                    row["short"], row["equivalence"] = compare_parts(row["parts"], reference or row["parts"])
                    if name in VERIFY_MODELS and args.verify:
                        row["verify"] = verify(
                            model, parts, os.path.join(logs, f"{tag}.modelcut-{mode}"), args.timeout
                        )
                remove(outputs)
                os.sync()
                block.append(row)
                print_row(row, cp_wall)

            if args.peers:
                for peer in PEERS:
                    dest = os.path.join(out_root, peer)
                    cmd = [PYTHON, os.path.join(HERE, "peers.py"), peer, model, dest, spec_path]
                    parts = [
                        os.path.join(dest, f"{stem}.part{k + 1}.onnx") for k in range(len(spec["parts"]))
                    ]
                    r = timed(cmd, [dest], f"{tag}.{peer}", args.peer_repeat, args.timeout)
                    row = dict(
                        input=name,
                        size_gb=size / 1e9,
                        cut=cut,
                        layer=layer,
                        crossing=crossing,
                        tool=peer,
                        **r,
                    )
                    if r["rc"] == 0:
                        row["parts"] = describe_parts(parts, args.check, files)
                        row["short"], row["equivalence"] = (
                            compare_parts(row["parts"], reference) if reference else ("?", "?")
                        )
                        if name in VERIFY_MODELS and args.verify:
                            row["verify"] = verify(
                                model, parts, os.path.join(logs, f"{tag}.{peer}"), args.timeout
                            )
                    remove([dest])
                    os.sync()
                    block.append(row)
                    print_row(row, cp_wall)

            extract = next((r for r in block if r["tool"] == "extract_model"), None)
            for row in block:
                row["cp_wall"] = cp_wall
                if extract is not None and row["tool"].startswith("modelcut"):
                    if extract["rc"] == 0:
                        row["extract_ratio"] = extract["wall"] / row["wall"]
                    elif extract["timed_out"]:
                        row["extract_ratio_min"] = extract["wall"] / row["wall"]
            results["rows"].extend(block)

    results["total_seconds"] = time.perf_counter() - t_start
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    remove([out_root])
    return results


# ---------------------------------------------------------------- printing


def print_machine(info: dict) -> None:
    v = info["versions"]
    print(
        f"machine: {info['cores']} cores ({info['cpu']}), {info['ram_gib']} GiB RAM, "
        f"{info['disk_free_gb']} GB free on the output disk ({info['filesystem']}), "
        f"Linux {info['kernel']}"
    )
    print(
        f"load average at start (1, 5, 15 min): {info['loadavg_at_start']}"
        + (f", at end: {info['loadavg_at_end']}" if "loadavg_at_end" in info else "")
    )
    print(
        f"versions: modelcut {v['modelcut']} (built {info['modelcut_built']}; work tree at "
        f"{info['repo_commit']}), onnx {v['onnx']}, "
        f"onnxruntime {v['onnxruntime']}, onnx-graphsurgeon {v['onnx-graphsurgeon']}, "
        f"sne4onnx {v['sne4onnx']}, torch {v['torch']}, numpy {v['numpy']}, "
        f"protobuf {v['protobuf']}, Python {info['python']}, {info['cp']}",
        flush=True,
    )


def fmt_wall(row: dict) -> str:
    if row.get("timed_out"):
        return f"> {row['wall']:.0f}"
    if row["rc"] != 0:
        return f"failed ({row['wall']:.1f})"
    return f"{row['wall']:.2f}" if row["wall"] < 100 else f"{row['wall']:.0f}"


def cells(row: dict, cp_wall: float) -> list[str]:
    ok = row["rc"] == 0 and not row.get("timed_out")
    is_cp = row["tool"] == "cp (floor)"
    ratio_cp = f"{row['wall'] / cp_wall:.2f}" if ok and not is_cp else ""
    if "extract_ratio" in row:
        ratio_ex = f"{row['extract_ratio']:.0f}x"
    elif "extract_ratio_min" in row:
        ratio_ex = f"> {row['extract_ratio_min']:.0f}x"
    else:
        ratio_ex = ""
    if is_cp:
        parts, verified = "", ""
    elif not ok:
        parts, verified = f"none: {row.get('error', '')[:70]}", ""
    else:
        parts = row.get("short", "")
        verified = row["verify"]["status"][:100] if "verify" in row else "not run"
    cut = "-" if row["cut"] == "-" else f"{row['cut']} ({row['layer']})"
    return [
        f"{row['input']} ({row['size_gb']:.2f} GB)",
        cut,
        row["tool"],
        fmt_wall(row),
        f"{row['rss_mb']:.0f}",
        ratio_cp,
        ratio_ex,
        parts,
        verified,
    ]


HEADER = [
    "input",
    "cut",
    "tool / mode",
    "wall s",
    "peak RSS MB",
    "/ cp",
    "extract_model / this",
    "parts vs modelcut auto",
    "modelcut verify (ORT)",
]


def print_row(row: dict, cp_wall: float) -> None:
    c = cells(row, cp_wall)
    print(f"  {c[2]:<18} {c[1]:<28} {c[3]:>14} s {c[4]:>7} MB {c[5]:>7}  {c[7]}  {c[8]}", flush=True)


def table(results: dict) -> str:
    rows = [cells(r, r.get("cp_wall", r["wall"])) for r in results["rows"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
    right = {3, 4, 5, 6}

    def line(values):
        return (
            "| "
            + " | ".join(
                v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))
            )
            + " |"
        )

    out = [
        line(HEADER),
        "|"
        + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths))
        + "|",
    ]
    out += [line(r) for r in rows]
    return "\n".join(out)


def equivalence_notes(results: dict) -> str:
    lines = []
    for r in results["rows"]:
        if r["tool"] == "cp (floor)":
            continue
        what = r.get("equivalence") if r["rc"] == 0 else f"no parts: {r.get('error', '')}"
        if r.get("timed_out"):
            what = "timed out"
        parts = r.get("parts") or []
        sizes = ", ".join(f"{p.get('file_bytes', 0) / 1e9:.2f} GB" for p in parts)
        lines.append(
            f"- {r['input']} {r['cut']} {r['tool']}: {what}" + (f" [files: {sizes}]" if sizes else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--dir",
        default="/tmp/modelcut-bench",
        help="folder for the cached models, the outputs (deleted as it goes) and logs",
    )
    p.add_argument("--models", nargs="+", default=list(make_models.MODELS), choices=list(make_models.MODELS))
    p.add_argument("--repeat", type=int, default=3, help="runs of cp and modelcut; best kept (3)")
    p.add_argument("--peer-repeat", type=int, default=1, help="runs of the other tools (1)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per run (1800)")
    p.add_argument(
        "--mem-limit-gib",
        type=float,
        default=20,
        help="address-space limit per run, so a tool that runs out of memory fails "
        "instead of the machine (20; 0 for none)",
    )
    p.add_argument("--no-peers", dest="peers", action="store_false", help="skip the other tools")
    p.add_argument("--no-verify", dest="verify", action="store_false", help="skip ORT verification")
    p.add_argument("--no-check", dest="check", action="store_false", help="skip onnx.checker on parts")
    p.add_argument("--json", help="also write all results as JSON here")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    results = run(args)
    results["wall_seconds"] = time.perf_counter() - t0
    print()
    print_machine(results["machine"])
    print()
    print(table(results))
    print()
    print("parts compared with modelcut's (auto mode):")
    print(equivalence_notes(results))
    print(f"\nbenchmark took {results['wall_seconds'] / 60:.1f} min")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
