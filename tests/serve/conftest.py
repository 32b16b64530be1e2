# Fixtures of the serving tests: a torch ResNet (random weights, exported by
# torch.onnx) cut into three parts with a skip connection across a cut, the
# whole model's outputs on ONNX Runtime, and a Ray cluster of two nodes
# simulated on this machine (ray.cluster_utils.Cluster), every address on
# 127.0.0.1, its logs in a folder of its own so that they can be checked.
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

# Read by Ray when it is imported: node addresses default to 127.0.0.1
# instead of this machine's interface address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "e2e"))  # zoo: the exported test models
sys.path.insert(0, str(TESTS / "cli"))  # cli_support: the CLI as users run it

import modelcut  # noqa: E402
from modelcut._ort import random_inputs  # noqa: E402
from serve_support import addresses_in_logs, free_port  # noqa: E402

# Cuts inside the first block of layer1 and of layer2: the block's input is
# also needed after each cut (the residual), so two values cross each one.
CUTS = ["layer1.0.conv1", "layer2.0.conv1"]


@pytest.fixture(scope="session")
def chain(tmp_path_factory, zoo_model):
    folder = tmp_path_factory.mktemp("serve")
    # A copy of the cached model, under the name the parts are named after (resnet.part1.onnx ...).
    model = Path(shutil.copyfile(zoo_model("torch_resnet"), folder / "resnet.onnx"))
    result = modelcut.split(str(model), at=CUTS, output_dir=str(folder / "parts"))
    feeds = random_inputs(str(model), seed=3, batch=4)
    whole = modelcut.run_chain([str(model)], feeds)
    return SimpleNamespace(
        model=str(model), parts=result.paths, cuts=result.cuts, feeds=feeds, whole=whole, folder=folder
    )


@pytest.fixture
def ray_logs():
    """RAY_TMPDIR of one test's own Ray instance: its logs, and the mark by
    which its processes are found and ended (serve_support.processes_of)."""
    logs = tempfile.mkdtemp(prefix="mccli", dir="/tmp")  # short: Ray's socket paths live under it
    yield logs
    shutil.rmtree(logs, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster():
    """Two Ray nodes on 127.0.0.1: the head with resource node_a, a worker
    with node_b; Serve's HTTP proxy on the head, on 127.0.0.1."""
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    saved = {"RAY_TMPDIR": os.environ.get("RAY_TMPDIR")}
    # Short: Ray's socket paths live under it and must fit in 107 bytes.
    logs = tempfile.mkdtemp(prefix="mcray", dir="/tmp")
    os.environ["RAY_TMPDIR"] = logs
    node = {"num_cpus": 4, "node_ip_address": "127.0.0.1", "object_store_memory": 200 << 20}
    simulated = Cluster(
        initialize_head=True, head_node_args={**node, "resources": {"node_a": 8}, "include_dashboard": False}
    )
    worker = simulated.add_node(**node, resources={"node_b": 8})
    ray.init(address=simulated.address, log_to_driver=False, logging_level="WARNING")
    port = free_port()
    serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": port})
    try:
        yield SimpleNamespace(
            address=simulated.address,
            port=port,
            logs=logs,
            head=simulated.head_node.node_id,
            worker=worker.node_id,
        )
        # Everything Ray said about itself: only loopback addresses.
        assert addresses_in_logs(logs) == {}
    finally:
        serve.shutdown()
        ray.shutdown()
        simulated.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(logs, ignore_errors=True)
