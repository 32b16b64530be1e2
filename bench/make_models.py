#!/usr/bin/env python3
"""Build the benchmark inputs for bench/run_bench.py (not timed).

Two PyTorch nn.TransformerEncoder models with random weights, exported with
the TorchScript ONNX exporter (torch.onnx.export(..., dynamo=False)) so that
layers keep PyTorch's module paths (encoder.layers.0 ... encoder.layers.23):

  enc24_d1024  24 layers, d_model 1024, 16 heads, ff 4096  ~1.2 GB, weights inline
  enc24_d2048  24 layers, d_model 2048, 16 heads, ff 8192  ~4.8 GB, external data
               (one file, enc24_d2048.onnx.data)

Input x: float32[batch, 64, d_model], output y of the same shape.

Each model gets its own folder under --dir (default /tmp/modelcut-bench), so
that in-place parts written beside a model do not mix with the other one.
A model that already exists is kept (delete its folder to rebuild it).

    python bench/make_models.py [--dir /tmp/modelcut-bench] [--only enc24_d1024]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
import warnings

SEQ = 64  # sequence length (fixed; the batch is dynamic)

MODELS = {
    # name: (layers, d_model, nhead, dim_feedforward, external data)
    "enc24_d1024": (24, 1024, 16, 4096, False),
    "enc24_d2048": (24, 2048, 16, 8192, True),
}


def model_paths(root: str, name: str) -> tuple[str, list[str]]:
    """The .onnx path of model NAME and all of its files (.onnx + data)."""
    folder = os.path.join(root, name)
    onnx_path = os.path.join(folder, name + ".onnx")
    files = [onnx_path]
    if MODELS[name][4]:
        files.append(onnx_path + ".data")
    return onnx_path, files


def _build(name: str, root: str) -> None:
    import torch
    from torch import nn

    warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")

    layers, d_model, nhead, ff, external = MODELS[name]

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

        def forward(self, x):
            return self.encoder(x)

    torch.manual_seed(0)
    model = Encoder().eval()
    # nn.TransformerEncoder deep-copies one layer, so all layers start with
    # the same weights, which the exporter would then store once. Give every
    # parameter its own random values.
    with torch.no_grad():
        for pname, param in model.named_parameters():
            if pname.endswith(("norm1.weight", "norm2.weight")):
                param.normal_(1.0, 0.02)
            else:
                param.normal_(0.0, 0.02)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {n_params / 1e6:.1f} M parameters ({n_params * 4 / 1e9:.2f} GB fp32)", flush=True)

    onnx_path, _ = model_paths(root, name)
    folder = os.path.dirname(onnx_path)
    os.makedirs(root, exist_ok=True)
    # Build in a temporary folder beside the final one, then rename, so an
    # interrupted build never leaves a half-written model behind.
    work = tempfile.mkdtemp(prefix=name + ".tmp", dir=root)
    # Only the batch is dynamic: tracing nn.MultiheadAttention bakes the
    # sequence length into Reshape shapes even when it is declared dynamic,
    # so the model would fail at run time on any other length.
    x = torch.randn(2, SEQ, d_model)
    # The fused fast path of nn.TransformerEncoderLayer has no ONNX export.
    torch.backends.mha.set_fastpath_enabled(False)
    t0 = time.perf_counter()
    if not external:
        target = os.path.join(work, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(
                model,
                (x,),
                target,
                dynamo=False,
                opset_version=17,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            )
    else:
        # Above 2 GB the TorchScript exporter writes one file per weight
        # beside the model; gather them into a single .onnx.data file.
        raw = os.path.join(work, "raw")
        os.makedirs(raw)
        with torch.no_grad():
            torch.onnx.export(
                model,
                (x,),
                os.path.join(raw, name + ".onnx"),
                dynamo=False,
                opset_version=17,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            )
        del model
        gc.collect()
        import onnx

        proto = onnx.load(os.path.join(raw, name + ".onnx"))
        shutil.rmtree(raw)
        onnx.save(
            proto,
            os.path.join(work, name + ".onnx"),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=name + ".onnx.data",
            size_threshold=1024,
        )
        del proto
        gc.collect()
        os.chmod(os.path.join(work, name + ".onnx.data"), 0o644)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.chmod(work, 0o755)
    os.rename(work, folder)
    print(f"{name}: exported in {time.perf_counter() - t0:.0f} s -> {onnx_path}", flush=True)


def ensure_models(root: str, names: list[str]) -> dict[str, str]:
    """Build the models in NAMES that are not yet under ROOT; return name -> .onnx path."""
    out = {}
    for name in names:
        onnx_path, files = model_paths(root, name)
        if not all(os.path.exists(f) for f in files):
            _build(name, root)
        out[name] = onnx_path
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--dir",
        default="/tmp/modelcut-bench",
        help="cache folder for the models (default /tmp/modelcut-bench)",
    )
    p.add_argument(
        "--only", action="append", choices=sorted(MODELS), help="build only this model (repeatable)"
    )
    args = p.parse_args(argv)
    paths = ensure_models(args.dir, args.only or list(MODELS))
    for name, path in paths.items():
        _, files = model_paths(args.dir, name)
        size = sum(os.path.getsize(f) for f in files)
        print(f"{name}: {path} ({size / 1e9:.2f} GB in {len(files)} file(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
