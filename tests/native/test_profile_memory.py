# The profile reader holds memory in proportion to what it keeps (the node
# times), not a document tree of the whole file: a 320 MB profile once took
# 4 GB and, under a memory limit, both commands aborted (exit 134). Here
# both commands plan with large profiles under a 2 GiB address-space limit:
# a valid one near the size cap plans, one over the size cap or the node cap
# is refused in one line, and nothing ends in an abort or a crash.
import json
import resource
import subprocess

import pytest
from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, assert_one_line_error, cli_argv, cli_env, write_model

LIMIT = 2 << 30
SIZE_CAP = 64 << 20
NODE_CAP = 1_000_000


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def plan(model, profile):
    words = ["plan", model, "--stages", "2", "--balance", "time", "--profile", profile, "--json"]
    return subprocess.run(
        [*cli_argv(), *words],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        preexec_fn=limited,
    )


def write_profile(path, nodes: int, padding: int = 0):
    """A valid profile timing the model's nodes and `nodes` others, with a
    `padding`-byte "machine" string (read and dropped)."""
    names = ",".join(f'"n{index}":{index % 97}.5' for index in range(nodes))
    ours = ",".join(f'"{name}":{10 + index}' for index, name in enumerate(MLP_NODE_NAMES))
    path.write_text(
        '{"format":"modelcut-profile","version":1,"machine":"'
        + "x" * padding
        + '","nodes":{'
        + ours
        + ("," + names if names else "")
        + "}}"
    )
    return str(path)


@pytest.fixture()
def model(tmp_path):
    return write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)


def test_a_large_valid_profile_plans_in_bounded_memory(model, tmp_path, both_commands):
    profile = write_profile(tmp_path / "times.json", NODE_CAP - 10, padding=44 << 20)
    size = (tmp_path / "times.json").stat().st_size
    assert 55 << 20 < size <= SIZE_CAP, size
    result = plan(model, profile)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert json.loads(result.stdout)["objective"] == "time"


def test_profiles_over_the_caps_are_refused_in_one_line(model, tmp_path, both_commands):
    too_many = write_profile(tmp_path / "many.json", NODE_CAP)
    assert_one_line_error(plan(model, too_many), "many.json", "more than 1000000 nodes")

    too_large = tmp_path / "large.json"
    with open(too_large, "wb") as file:  # sparse: the size is checked before anything is read
        file.write(b'{"format":"modelcut-profile","version":1,"nodes":{}}')
        file.truncate(SIZE_CAP + 1)
    assert_one_line_error(plan(model, str(too_large)), "large.json", "larger than 64 MB")
