#!/usr/bin/env python3
"""Cross-check tests/cpp/support/onnx_text.cpp against onnx's own text parser.

For every case below the text is turned into a ModelProto twice: by the C++
helper (through a tiny driver program) and by onnx.parser.parse_model. The
script checks that

  * the C++ bytes load with onnx.load_from_string,
  * both models have the same content (MessageToDict, plus a note when the
    serialized bytes are identical too),
  * the C++ model passes onnx.checker.check_model(full_check=True) for cases
    that are meant to be valid models,
  * texts onnx rejects are rejected by the C++ helper as well, with an error
    naming a line and column, and the deliberate extra checks of the C++
    helper (see onnx_text.cpp) reject what they should.

Usage:
  python check_onnx_text.py                    # compiles the driver with $CXX (default c++)
  python check_onnx_text.py --driver PATH      # uses a prebuilt driver binary
  python check_onnx_text.py --emit-driver F    # writes the driver source to F and exits

The driver reads model text on stdin and writes the ModelProto bytes to
stdout; on a parse error it prints the message to stderr and exits with 1.
Needs the onnx Python package (e.g. the project's .venv); the C++ code itself
does not use Python.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
import onnx.checker
import onnx.parser
from google.protobuf.json_format import MessageToDict

HERE = Path(__file__).resolve().parent

DRIVER_SOURCE = r"""
#include <iostream>
#include <iterator>
#include <string>

#include "onnx_text.h"

int main() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  try {
    const std::string bytes = modelcut::testing::onnx_model_from_text(text);
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return std::cout.good() ? 0 : 2;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
"""

HEADER = '<ir_version: 8, opset_import: ["" : 17]>\n'

# (name, text, passes full_check). Every text must be accepted by onnx too.
VALID_CASES: list[tuple[str, str, bool]] = [
    (
        "brief_example",
        """
        <ir_version: 8, opset_import: ["" : 17, "custom" : 1], producer_name: "x">
        main (float[N,4] x, int64[2] shape) => (float[N,2] y)
          <float[2] bias = {1.0, 2.0}, int64[2] c = {1, 2}>
        {
          # a comment on its own line
          a = Relu(x)            # and one after a node
          b, d = Split <axis = 1> (a)
          e = Clip(b, , bias)
          f = custom.MyOp <alpha: float = 0.1, axis = 1, perm = [0, 2, 1], mode = "x"> (e)
          y = Add(f, d)
        }
        """,
        False,  # custom.MyOp is unknown to the checker
    ),
    (
        "mlp",
        HEADER
        + """
        mlp (float[N, 4] x) => (float[N, 2] y)
          <float[4, 2] w = {1, 2, 3, 4, 5, 6, 7, 8}, float[2] b = {0.5, -0.5}, float[N, 2] h>
        {
          h = MatMul(x, w)
          y = Add(h, b)
        }
        """,
        True,
    ),
    (
        "element_types_and_dims",
        HEADER
        + """
        types (float a, float[?, 3, N] c, double[2] d, int32[2] e, int64[2] f,
               bool[2] g, float16[2] h, uint8[2] i, int8[2] j, float["batch", M] k,
               float "quoted name") => (float[?, 3, "N"] out)
        {
          out = Identity(c)
        }
        """,
        True,
    ),
    (
        "initializer_data_types",
        HEADER
        + """
        inits (float x) => (float y)
          <bool[2] bb = {1, 0}, float16[2] hh = {15360, 16384}, uint8[2] uu = {1, 255},
           int8[2] ii = {-1, 2}, double[2] dd = {1.5, -2e3}, int32[2] ij = {3, -4},
           string[2] st = {"a", "b\\"c"}, uint64[1] ul = {5}, uint32[1] ui = {7},
           uint16[1] us = {9}, int16[1] is = {-9}, bfloat16[1] bf = {16256},
           float[1] neg = {-1}, float sc = {3.5}, float[2, 2] m = {1, 2, 3, 4},
           float[3] sp = {inf, -inf, 1e-3}, int64[0] empty = {}, float[2] noeq = {1., 2.5E1},
           complex64[1] cx = {1, 2}>
        {
          y = Identity(x)
        }
        """,
        True,
    ),
    (
        "input_with_default",
        HEADER
        + """
        defaults (float[2] x = {1, 2}, float[2] z) => (float[2] y) {
          y = Add(x, z)
        }
        """,
        True,
    ),
    (
        "node_forms",
        HEADER
        + """
        forms (float[N] x) => (float[N] y) {
          [first] a = Relu(x)
          ["second node"] b = Identity(a)
          [] c = Identity(b)
          "quoted out" = Identity(c)
          d = Clip("quoted out", , )
          e = Clip(d, "", "")
          f, = Identity(e)
          g = Identity(f,)
          h = Clip(, )
          , i = Foo(x)
        }
        """,
        False,  # unknown op / odd names; content comparison only
    ),
    (
        "attributes",
        HEADER
        + """
        attrs (float[N] x) => (float[N] y) {
          y = Foo <a = -1, b = 1.5, c = -2.5e-3, d = 1e3, e = "s\\"q\\\\n", f: ints = [],
                   h: int = 3, i: float = 3, j: string = "x", k: ints = [1], l: floats = [1, 2],
                   m: strings = ["a"], n = [1.5, 2], o = ["a", "b"], p = float[2] {1, 2},
                   q: tensor = float[1] {1}, r = float[1] t1 {1}, s = float[1] t2 = {1},
                   v: floats = [], w: float = -inf, z = 1E2, nn = NaN, big = -9223372036854775808,
                   oct = 010, tp = float[N, 3], tp2: type_proto = seq(int64[2]), li: int = [4, 5]>
                (x)
        }
        """,
        False,
    ),
    (
        "attributes_after_inputs",
        HEADER
        + """
        after (float[N, 3] x) => (float[N, 3] y) {
          y = Softmax(x) <axis = -1>
        }
        """,
        True,
    ),
    (
        "if_subgraphs",
        HEADER
        + """
        cond (bool c, float[N] x) => (float[N] y) {
          y = If(c) <then_branch = g1 () => (float[N] z) { z = Identity(x) },
                     else_branch: graph = g2 () => (float[N] z) <float[1] k = {2}> { z = Mul(x, k) }>
        }
        """,
        True,
    ),
    (
        "loop_subgraph",
        HEADER
        + """
        looper (int64 trip, bool cond, float[2] init) => (float[2] out) {
          out = Loop(trip, cond, init) <body = body (int64 i, bool c_in, float[2] acc) => (bool c_out, float[2] acc_out) {
              c_out = Identity(c_in)
              acc_out = Add(acc, init)
          }>
        }
        """,
        True,
    ),
    (
        "scan_subgraph",
        HEADER
        + """
        scanner (float[2] init, float[5, 2] xs) => (float[2] final, float[5, 2] ys) {
          final, ys = Scan(init, xs) <num_scan_inputs = 1, body = step (float[2] s, float[2] x) => (float[2] s2, float[2] y) {
              s2 = Add(s, x)
              y = Identity(s2)
          }>
        }
        """,
        True,
    ),
    (
        "functions",
        '<ir_version: 8, opset_import: ["" : 17, "local" : 1]>\n'
        + """
        main (float[N] x) => (float[N] y) {
          t = local.fname(x)
          y = local.scaled <alpha = 2.0> (t)
        }
        <domain: "local", opset_import: ["" : 17]>
        fname (x) => (y) {
          y = Relu(x)
        }
        <domain: "local", opset_import: ["" : 17], doc_string: "doubles">
        scaled <alpha, beta: float = 1.0> (float[N] a) => (b, float c) <float t> {
          k = Constant <value_float: float = @alpha> ()
          t = Mul(a, k)
          b = Identity(t)
          c = Identity(t)
        }
        """,
        False,  # 'c' is a declared but unused function output
    ),
    (
        "functions_checked",
        '<ir_version: 8, opset_import: ["" : 17, "local" : 1]>\n'
        + """
        main (float[N] x) => (float[N] y) {
          y = local.f(x)
        }
        <domain: "local", opset_import: ["" : 17]>
        f (x) => (y) {
          y = Relu(x)
        }
        """,
        True,
    ),
    (
        "model_properties",
        """
        <ir_version: 8, opset_import: ["" : 17], producer_name: "p", producer_version: "1.0",
         domain: "ai.example", model_version: 3, doc_string: "hello",
         metadata_props: ["k" : "v", "k2" : "v2"]>
        "quoted graph" (float x) => (float y) { y = Identity(x) }
        """,
        True,
    ),
    (
        "no_header_and_empty_lists",
        """
        g () => () { }
        """,
        False,  # no opset_import
    ),
    (
        "untyped_outputs_and_value_info",
        HEADER
        + """
        g (float[3] x, float[] unknown_rank) => (y) <float[3] t, "odd vi"> { t = Relu(x) y = Neg(t) }
        """,
        False,
    ),
    (
        "composite_types",
        HEADER
        + """
        g (seq(float[2]) s, map(int64, float) m, optional(float[N]) o, sparse_tensor(float[2, 3]) sp,
           opaque(test.rng, RNG) q, opaque(thing) q2, optional(seq(double[])) oo) => (float y) {
          y = Identity(s)
        }
        """,
        False,
    ),
    (
        "overload_and_crlf",
        '<ir_version: 10, opset_import: ["" : 21, "d" : 1]>\r\n'
        "g (float x) => (float y) {\r\n  y = d.f:ov(x)\r\n}\r\n"
        '<domain: "d", overload: "ov", opset_import: ["" : 21]> f (x) => (y) { y = Relu(x) }\r\n',
        True,
    ),
    (
        "external_data",
        HEADER
        + """
        g (float x) => (float y) <float[2] w = ["location" : "w.bin", "offset" : "0"]> { y = Identity(x) }
        """,
        False,  # the file does not exist
    ),
]

# Texts that onnx rejects; the C++ helper must reject them too. The second
# element is the expected 1-based line of the error, or None to skip that check.
INVALID_CASES: list[tuple[str, str, int | None]] = [
    ("missing_paren", HEADER + "g (float x => (float y) { y = Relu(x) }", 2),
    ("missing_brace", HEADER + "g (float x) => (float y) {\n  y = Relu(x)\n", 4),
    ("trailing_junk", HEADER + "g (float x) => (float y) { y = Relu(x) }\njunk", 3),
    ("semicolon", HEADER + "g (float x) => (float y) {\n  y = Relu(x);\n}", 3),
    ("spaced_arrow", HEADER + "g (float x) = > (float y) { y = Relu(x) }", 2),
    ("mixed_list", HEADER + "g (float x) => (float y) {\n y = Foo <a = [1, 2.5]> (x)\n}", 3),
    ("empty_list_untyped", HEADER + "g (float x) => (float y) {\n y = Foo <a = []> (x)\n}", 3),
    ("type_mismatch", HEADER + "g (float x) => (float y) {\n y = Foo <a: int = 1.5> (x)\n}", 3),
    ("bad_attr_type", HEADER + "g (float x) => (float y) {\n y = Foo <a: banana = 1> (x)\n}", 3),
    ("float16_float_data", HEADER + "g (float x) => (float y) <float16[1] h = {1.5}> { y = Relu(x) }", 2),
    ("int_data_float", HEADER + "g (float x) => (float y) <int64[1] h = {1.5}> { y = Relu(x) }", 2),
    ("symbolic_init", HEADER + "g (float x) => (float y) <float[N] h = {1}> { y = Relu(x) }", 2),
    ("unknown_rank_init", HEADER + "g (float x) => (float y) <float[] h = {1}> { y = Relu(x) }", 2),
    ("leading_dot_float", HEADER + "g (float x) => (float y) {\n y = Foo <a = .5> (x)\n}", 3),
    ("plus_sign", HEADER + "g (float x) => (float y) {\n y = Foo <a = +5> (x)\n}", 3),
    ("bad_header_key", "<ir_versio: 8>\ng (float x) => (float y) { y = Relu(x) }", 1),
    ("unterminated_string", HEADER + 'g (float x) => (float y) {\n y = Foo <a = "abc> (x)\n}', 3),
    ("int_overflow", HEADER + "g (float x) => (float y) {\n y = Foo <a = 99999999999999999999> (x)\n}", 3),
    ("float_overflow", HEADER + "g (float x) => (float y) {\n y = Foo <a = 1e400> (x)\n}", 3),
    ("empty_input", "", 1),
    ("empty_attr_list", HEADER + "g (float x) => (float y) {\n y = Relu <> (x)\n}", 3),
    ("attr_list_twice", HEADER + "g (float x) => (float y) {\n y = Foo <a = 1> (x) <b = 2>\n}", 3),
]

# Texts onnx accepts but the C++ helper deliberately rejects (see the
# "Deliberate differences" note in onnx_text.cpp).
STRICTER_CASES: list[tuple[str, str, int | None]] = [
    ("too_few_values", HEADER + "g (float x) => (float y)\n <float[3] w = {1, 2}> { y = Relu(x) }", 3),
    ("too_many_values", HEADER + "g (float x) => (float y)\n <float[1] w = {1, 2}> { y = Relu(x) }", 3),
    ("missing_op_name", HEADER + "g (float x) => (float y) {\n y = (x)\n}", 3),
    ("negative_unsigned", HEADER + "g (float x) => (float y)\n <uint64[1] w = {-1}> { y = Relu(x) }", 3),
]

LINE_RE = re.compile(r"line (\d+), column (\d+)")


def build_driver(workdir: Path, cxx: str) -> Path:
    src = workdir / "onnx_text_driver.cpp"
    src.write_text(DRIVER_SOURCE)
    exe = workdir / "onnx_text_driver"
    cmd = [
        cxx,
        "-std=c++17",
        "-O1",
        "-Wall",
        "-Wextra",
        f"-I{HERE}",
        str(src),
        str(HERE / "onnx_text.cpp"),
        "-o",
        str(exe),
    ]
    subprocess.run(cmd, check=True)
    return exe


def run_driver(driver: Path, text: str) -> tuple[int, bytes, str]:
    proc = subprocess.run([str(driver)], input=text.encode(), capture_output=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


def onnx_parse(text: str):
    try:
        return onnx.parser.parse_model(text), None
    except Exception as exc:  # onnx raises its own ParseError (or a C++ exception)
        return None, exc


def check_valid(driver: Path, name: str, text: str, full_check: bool) -> list[str]:
    problems = []
    reference, err = onnx_parse(text)
    if reference is None:
        return [f"{name}: onnx itself rejects the text: {err}"]
    rc, out, stderr = run_driver(driver, text)
    if rc != 0:
        return [f"{name}: C++ parser failed:\n{stderr}"]
    try:
        mine = onnx.load_from_string(out)
    except Exception as exc:
        return [f"{name}: C++ bytes do not load: {exc}"]
    mine_dict = MessageToDict(mine)
    ref_dict = MessageToDict(reference)
    if mine_dict != ref_dict:
        problems.append(f"{name}: content differs\n  C++ : {mine}\n  onnx: {reference}")
    identical = out == reference.SerializeToString()
    if full_check:
        try:
            onnx.checker.check_model(mine, full_check=True)
        except Exception as exc:
            problems.append(f"{name}: checker rejects the C++ model: {exc}")
    status = "FAIL" if problems else "ok"
    extra = "bytes identical" if identical else "same content, different bytes"
    checked = ", full_check passed" if full_check and not problems else ""
    print(f"[{status}] {name}: {extra}{checked}")
    return problems


def check_rejected(
    driver: Path, name: str, text: str, line: int | None, onnx_should_accept: bool
) -> list[str]:
    problems = []
    reference, _ = onnx_parse(text)
    if onnx_should_accept and reference is None:
        problems.append(
            f"{name}: expected onnx to accept this text (documented deviation), but it rejects it"
        )
    if not onnx_should_accept and reference is not None:
        problems.append(f"{name}: expected onnx to reject this text, but it accepts it")
    rc, _, stderr = run_driver(driver, text)
    if rc != 1:
        problems.append(f"{name}: C++ parser should fail with exit code 1, got {rc}")
    else:
        match = LINE_RE.search(stderr)
        if not match:
            problems.append(f"{name}: error message names no line/column: {stderr!r}")
        elif line is not None and int(match.group(1)) != line:
            problems.append(f"{name}: error reported at line {match.group(1)}, expected {line}: {stderr!r}")
    status = "FAIL" if problems else "ok"
    first = stderr.splitlines()[0] if stderr else ""
    print(f"[{status}] {name}: rejected ({first})")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", type=Path, help="prebuilt driver binary (default: compile one)")
    ap.add_argument(
        "--cxx", default=os.environ.get("CXX", "c++"), help="C++ compiler used to build the driver"
    )
    ap.add_argument("--emit-driver", type=Path, help="write the driver source to this path and exit")
    args = ap.parse_args()

    if args.emit_driver:
        args.emit_driver.write_text(DRIVER_SOURCE)
        return 0

    print(f"onnx {onnx.__version__}")
    workdir = Path(tempfile.mkdtemp(prefix="onnx_text_check_"))
    try:
        driver = args.driver.resolve() if args.driver else build_driver(workdir, args.cxx)
        problems: list[str] = []
        for name, text, full_check in VALID_CASES:
            problems += check_valid(driver, name, text, full_check)
        for name, text, line in INVALID_CASES:
            problems += check_rejected(driver, name, text, line, onnx_should_accept=False)
        for name, text, line in STRICTER_CASES:
            problems += check_rejected(driver, name, text, line, onnx_should_accept=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if problems:
        print("\n" + "\n\n".join(problems), file=sys.stderr)
        print(f"\n{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("all cases agree with onnx.parser")
    return 0


if __name__ == "__main__":
    sys.exit(main())
