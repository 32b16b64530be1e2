# Every option value has a bound checked before it is used, in both commands
# with the same words: no value of any option or positional may be longer
# than 4096 characters (a path's limit), and sizes, rates, durations and
# counts are read without recursion (the native command's std::regex once
# overflowed the stack on a 30,000-character --bandwidth: exit 139).
import json
import os
import sys

import pytest
from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, run_cli, write_model

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plan"))
from plan_support import assert_one_line_error

LONG = "1" * 30000
LIMIT = "(at most 4096)"


@pytest.fixture()
def files(tmp_path):
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    times = tmp_path / "times.json"
    times.write_text(
        json.dumps(
            {"format": "modelcut-profile", "version": 1, "nodes": {name: 10.0 for name in MLP_NODE_NAMES}}
        )
    )
    return {"model": model, "times": str(times), "out": str(tmp_path / "out")}


DEVICE_SERVER = ["--device", "{times}", "--server", "{times}", "--bandwidth", "10MB/s"]

# (command line, the option the error names): every value-taking option of the native commands.
LONG_VALUES = {
    "plan --bandwidth": (
        [
            "plan",
            "{model}",
            "--stages",
            "2",
            "--balance",
            "time",
            "--profile",
            "{times}",
            "--bandwidth",
            LONG,
        ],
        "--bandwidth",
    ),
    "plan --rtt": (["plan", "{model}", *DEVICE_SERVER, "--rtt", LONG], "--rtt"),
    "plan --sweep": (["plan", "{model}", *DEVICE_SERVER, "--sweep", LONG], "--sweep"),
    "plan --max-stage-params": (
        ["plan", "{model}", "--stages", "2", "--max-stage-params", LONG],
        "--max-stage-params",
    ),
    "plan --max-boundary-bytes": (
        ["plan", "{model}", "--stages", "2", "--max-boundary-bytes", LONG],
        "--max-boundary-bytes",
    ),
    "plan --stages": (["plan", "{model}", "--stages", LONG], "--stages"),
    "plan --batch": (["plan", "{model}", "--stages", "2", "--batch", LONG], "--batch"),
    "plan --dim": (["plan", "{model}", "--stages", "2", "--dim", "N=" + LONG], "--dim"),
    "plan --balance": (["plan", "{model}", "--stages", "2", "--balance", LONG], "--balance"),
    "plan --profile": (
        ["plan", "{model}", "--stages", "2", "--balance", "time", "--profile", LONG],
        "--profile",
    ),
    "plan --split": (["plan", "{model}", "--stages", "2", "--split", LONG], "--split"),
    "plan --plot": (["plan", "{model}", "--stages", "2", "--plot", LONG], "--plot"),
    "plan MODEL": (["plan", LONG, "--stages", "2"], "MODEL"),
    "split --at": (["split", "{model}", "--at", LONG, "-o", "{out}"], "--at"),
    "split -o": (["split", "{model}", "--at", "mlp/fc1/Relu", "-o", LONG], "-o/--output"),
    "split --external-threshold": (
        ["split", "{model}", "--at", "mlp/fc1/Relu", "-o", "{out}", "--external-threshold", LONG],
        "--external-threshold",
    ),
    "split --weights": (
        ["split", "{model}", "--at", "mlp/fc1/Relu", "-o", "{out}", "--weights", LONG],
        "--weights",
    ),
    "split --signature": (
        ["split", "{model}", "--at", "mlp/fc1/Relu", "-o", "{out}", "--signature", LONG],
        "--signature",
    ),
    "inspect --depth": (["inspect", "{model}", "--depth", LONG], "--depth"),
    "inspect MODEL": (["inspect", "é" * 5000], "MODEL"),
    "merge PART": (["merge", "{model}", LONG, "-o", "{out}"], "PART"),
    "merge -o": (["merge", "{model}", "{model}", "-o", LONG], "-o/--output"),
}


@pytest.mark.parametrize("case", sorted(LONG_VALUES))
def test_a_value_too_long_is_one_line(case, files, both_commands):
    words, option = LONG_VALUES[case]
    result = run_cli(*[word.format(**files) if word.startswith("{") else word for word in words])
    assert_one_line_error(result, f"argument {option}: the value is", "characters long", LIMIT)
    assert len(result.stderr) < 300, result.stderr  # the value itself is not echoed
    assert not os.path.exists(files["out"])


# Values within the bound that the old parser could not read (a negative
# number of 4,000 digits recursed as deeply as a long value) or that overflow.
NEAR_THE_BOUND = {
    "rate of 4000 digits": (
        ["plan", "{model}", *DEVICE_SERVER[:-1], "9" * 4000],
        ["--bandwidth", "too large"],
    ),
    "rate with a bad unit": (["plan", "{model}", *DEVICE_SERVER[:-1], "9" * 4000 + "x"], ["is not a rate"]),
    "size of 4000 digits": (
        ["plan", "{model}", "--stages", "2", "--max-stage-params", "1" * 4000 + "GB"],
        ["--max-stage-params", "too large"],
    ),
    "duration of 4000 digits": (
        ["plan", "{model}", *DEVICE_SERVER, "--rtt", "0." + "0" * 3990 + "1ms"],
        None,
    ),
    "sweep of many rates": (["plan", "{model}", *DEVICE_SERVER, "--sweep", ",".join(["1MB/s"] * 600)], None),
    "negative count of 4000 digits": (
        ["plan", "{model}", "--stages", "-" + "1" * 4000],
        ["--stages", "give a whole number >= 1"],
    ),
    "count over 64 bits": (
        ["plan", "{model}", "--stages", "2", "--batch", "9" * 20],
        ["--batch", "too large"],
    ),
    "dim over 64 bits": (
        ["plan", "{model}", "--stages", "2", "--dim", "N=" + "9" * 20],
        ["--dim", "NAME=SIZE"],
    ),
    "threshold over 64 bits": (
        ["split", "{model}", "--at", "mlp/fc1/Relu", "-o", "{out}", "--external-threshold", "9" * 20],
        ["--external-threshold", "below 2**64"],
    ),
    "negative threshold": (
        ["split", "{model}", "--at", "mlp/fc1/Relu", "-o", "{out}", "--external-threshold", "-5"],
        ["--external-threshold", ">= 0"],
    ),
}


@pytest.mark.parametrize("case", sorted(NEAR_THE_BOUND))
def test_values_near_the_bound_are_read_or_refused_in_one_line(case, files, both_commands):
    words, fragments = NEAR_THE_BOUND[case]
    result = run_cli(*[word.format(**files) if word.startswith("{") else word for word in words])
    if fragments is None:
        assert result.returncode == 0, result.stderr
        assert "device" in result.stdout
    else:
        assert_one_line_error(result, *fragments)
        assert not os.path.exists(files["out"])
