# A 3-part chain of a torch ResNet served on Ray Serve over a simulated
# 2-node cluster, each stage pinned to a node: its outputs over HTTP and
# through the handle equal the whole model's on ONNX Runtime bit for bit;
# bad requests get 400 and one line; split computing sends only the values
# at the cut; dynamic batching and interventions at the cuts.
import io
import json
import os
import threading
import time
from pathlib import Path

import modelcut
import numpy as np
import pytest
from http_support import request
from modelcut.intervene import gaussian_noise
from modelcut.serve import BadRequest, Client, deploy, run_split
from modelcut.serve.options import load_callable
from modelcut.serve.wire import decode_response, encode_npz
from serve_support import assert_equal_outputs, command_line, is_loopback, listening_sockets, processes_of

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def served(chain, cluster):
    config = {
        "name": "resnet",
        "port": cluster.port,
        "route": "/resnet",
        "stages": [{"resources": {"node_a": 1}}, {"resources": {"node_b": 1}}, {"resources": {"node_a": 1}}],
    }
    chain_served = deploy(chain.parts, config)
    yield chain_served
    chain_served.shutdown()


def test_each_stage_runs_on_the_node_it_is_pinned_to(served, cluster):
    from ray import serve

    nodes = [
        serve.get_deployment_handle(f"stage{i}", app_name="resnet").node.remote().result(timeout_s=30)
        for i in (1, 2, 3)
    ]
    assert nodes == [cluster.head, cluster.worker, cluster.head]


def test_a_skip_connection_crosses_the_cuts(chain):
    assert [len(cut["values"]) for cut in chain.cuts] == [1, 1]
    description = modelcut.serve.app.describe(
        [modelcut.serve.signature.read_signature(part) for part in chain.parts],
        modelcut.serve.options.default_config(3),
    )
    # the cut value and the block's input (the residual) cross each cut
    assert [len(cut["values"]) for cut in description["cuts"]] == [2, 2]


def test_http_npz_equals_the_whole_model(served, chain):
    status, headers, body = request(served.url, encode_npz(chain.feeds))
    assert status == 200, body
    assert headers["content-type"] == "application/x-npz"
    assert_equal_outputs(decode_response(body, headers["content-type"], 1 << 30), chain.whole)
    timing = json.loads(headers["x-modelcut-timing"])
    assert len(timing["stages_s"]) == 3 and timing["server_s"] >= sum(timing["stages_s"])


def test_http_json_equals_the_whole_model(served, chain):
    body = json.dumps({name: value.tolist() for name, value in chain.feeds.items()}).encode()
    status, headers, answer = request(served.url, body, "application/json")
    assert status == 200, answer
    document = json.loads(answer)
    assert document["output"]["dtype"] == "float32"
    assert_equal_outputs(decode_response(answer, headers["content-type"], 1 << 30), chain.whole)


def _npy(value: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, value)
    return buffer.getvalue()


def test_a_single_input_can_be_sent_as_npy_and_is_answered_as_npy(served, chain):
    (value,) = chain.feeds.values()
    status, headers, body = request(served.url, _npy(value), "application/x-npy")
    assert status == 200, body
    assert headers["content-type"] == "application/x-npy"
    answer = np.load(io.BytesIO(body), allow_pickle=False)
    assert_equal_outputs({"output": answer}, chain.whole)


def test_a_npy_request_to_a_chain_of_several_outputs_gets_406(chain, cluster):
    config = {"name": "head", "port": cluster.port, "route": "/head"}
    with deploy(chain.parts[:1], config) as head:
        outputs = [spec["name"] for spec in head.description["outputs"]]
        assert len(outputs) == 2
        status, _, answer = request(head.url, _npy(chain.feeds["input"]), "application/x-npy")
        assert status == 406, answer
        assert answer.decode() == (
            f"a .npy answer holds one array but the chain gives 2 outputs "
            f"({', '.join(outputs)}); send the request as .npz or JSON\n"
        )
        status, headers, answer = request(head.url, encode_npz(chain.feeds))
        assert status == 200 and headers["content-type"] == "application/x-npz"
        assert_equal_outputs(
            decode_response(answer, headers["content-type"], 1 << 30),
            modelcut.run_chain(chain.parts[:1], chain.feeds),
        )


@pytest.mark.parametrize(
    "path, method, status",
    [
        ("/resnet/", "GET", 200),
        ("/resnet/anything", "POST", 404),
        ("/resnet/anything", "GET", 404),
        ("/resnet//", "POST", 404),
        ("/resnetx", "POST", 404),
        ("/", "POST", 404),
        ("/resnet", "PUT", 405),
        ("/resnet", "DELETE", 405),
    ],
)
def test_routes_match_exactly(served, chain, path, method, status):
    url = served.url[: -len("/resnet")] + path
    body = encode_npz(chain.feeds) if method in ("POST", "PUT") else None
    answer_status, headers, answer = request(url, body, method=method)
    assert answer_status == status, answer
    if status == 405:
        assert headers["allow"] == "GET, POST"
    if status != 200:
        assert answer.count(b"\n") <= 1 and b"output" not in answer


def test_every_server_of_the_cluster_listens_on_loopback(served):
    listening = listening_sockets(processes_of(os.getpid()))
    replicas = [pid for pid in listening if "ServeReplica:resnet:" in command_line(pid)]
    assert len(replicas) == 4, [command_line(pid) for pid in listening]
    exposed = {
        command_line(pid): sorted(sockets)
        for pid, sockets in listening.items()
        if not all(is_loopback(address) for address, _ in sockets)
    }
    assert exposed == {}


def test_the_handle_equals_the_whole_model(served, chain):
    assert_equal_outputs(served.run(chain.feeds, timeout_s=60), chain.whole)
    outputs, timing = served.handle.run_timed.remote(chain.feeds).result(timeout_s=60)
    assert_equal_outputs(outputs, chain.whole)
    assert timing["stages_batch"] == [1, 1, 1] and timing["retries"] == 0


def test_get_describes_the_chain(served, chain):
    status, _, body = request(served.url)
    assert status == 200
    description = json.loads(body)
    assert [stage["part"] for stage in description["stages"]] == [os.path.basename(p) for p in chain.parts]
    assert description["inputs"] == [{"name": "input", "dtype": "float32", "dims": ["batch", 3, 64, 64]}]
    assert description["stages"][1]["resources"] == {"CPU": 1.0, "node_b": 1}


def _bad_requests(feeds):
    ((name, value),) = feeds.items()
    return {
        "missing input": (encode_npz({}), "missing input(s) ['input']"),
        "extra input": (encode_npz({**feeds, "extra": value}), "unexpected input(s) ['extra']"),
        "wrong dtype": (encode_npz({name: value.astype(np.float64)}), "has dtype float64"),
        "wrong shape": (encode_npz({name: value[:, :2]}), "has shape (4, 2, 64, 64)"),
        "wrong rank": (encode_npz({name: value[0]}), "the model expects rank 4"),
        "not npz": (b"PK\x03\x04garbage", "not a readable .npz"),
        "not a format": (b"\x00\x01\x02", "not .npz, .npy or a JSON object"),
        "bad json": (b'{"input": [1, 2', "not valid JSON"),
        "ragged json": (
            json.dumps({name: [[1, 2], [3]]}).encode(),
            "input 'input' is not a rectangular array",
        ),
        "json strings": (json.dumps({name: ["a"]}).encode(), "not a rectangular array of numbers"),
        "json not an object": (b"[1, 2]", "the JSON request must be an object mapping input names"),
    }


@pytest.mark.parametrize("case", sorted(_bad_requests({"input": np.zeros((4, 3, 64, 64), np.float32)})))
def test_a_bad_request_gets_400_naming_what_is_wrong(served, chain, case):
    body, expected = _bad_requests(chain.feeds)[case]
    kind = "application/json" if body[:1] in (b"{", b"[") else "application/octet-stream"
    status, _, answer = request(served.url, body, kind)
    assert status == 400, answer
    text = answer.decode()
    assert expected in text and text.count("\n") == 1, text
    # ... and the service keeps serving
    status, headers, body = request(served.url, encode_npz(chain.feeds))
    assert status == 200
    assert_equal_outputs(decode_response(body, headers["content-type"], 1 << 30), chain.whole)


def test_a_request_over_the_size_limit_gets_413(chain, cluster):
    config = {"name": "small", "port": cluster.port, "route": "/small", "max_request_bytes": 1000}
    with deploy(chain.parts[2:], config) as small:
        status, _, answer = request(small.url, b"x" * 5000, "application/octet-stream")
        assert status == 413 and b"more than the limit of 1000" in answer


def test_the_handle_refuses_bad_feeds(served, chain):
    with pytest.raises(BadRequest, match=r"input 'input' has dtype int32"):
        served.run({"input": chain.feeds["input"].astype(np.int32)}, timeout_s=60)


def test_split_computing_sends_only_the_cut(served, chain, cluster, tmp_path):
    config = {
        "name": "tail",
        "port": cluster.port,
        "route": "/tail",
        "stages": [{"resources": {"node_b": 1}}, {"resources": {"node_b": 1}}],
    }
    with deploy(chain.parts[1:], config) as tail:
        result = run_split([chain.parts[0]], tail.url, chain.feeds)
        assert_equal_outputs(result.outputs, chain.whole)
        boundary = modelcut.run_chain([chain.parts[0]], chain.feeds)
        assert result.exchange.sent_bytes == len(encode_npz(boundary))
        assert len(result.local_s) == 1 and result.exchange.network_s is not None
        assert Client(tail.url).describe()["inputs"][0]["name"] in boundary

        # the same from the command line
        np.savez(tmp_path / "in.npz", **chain.feeds)
        from cli_support import run_cli

        done = run_cli(
            "run",
            chain.parts[0],
            "--remote",
            tail.url,
            "--inputs",
            str(tmp_path / "in.npz"),
            "--save",
            str(tmp_path / "out.npz"),
            subprocess=True,  # this process is the cluster's Ray driver: its threads share the descriptors
        )
        assert done.returncode == 0, done.stderr
        assert f"sent {len(encode_npz(boundary)) / 1024:.1f} KiB to {tail.url}" in done.stdout
        assert "server:" in done.stdout and "3 stage" not in done.stdout
        with np.load(tmp_path / "out.npz") as saved:
            assert_equal_outputs(dict(saved), chain.whole)

        # sending the whole model's input to the tail is refused with the reason
        done = run_cli(
            "run", chain.parts[0], chain.parts[1], chain.parts[2], "--remote", tail.url, subprocess=True
        )
        assert done.returncode == 2
        assert "answered 400: request: missing input(s)" in done.stderr


def test_dynamic_batching_stacks_concurrent_requests(chain, cluster):
    config = {
        "name": "batched",
        "port": cluster.port,
        "route": "/batched",
        "stages": [{"max_batch_size": 8, "batch_wait": "50ms"}] * 3,
    }
    singles = [{name: value[i : i + 1] for name, value in chain.feeds.items()} for i in range(4)] * 3
    expected = [modelcut.run_chain(chain.parts, feeds) for feeds in singles[:4]] * 3
    answers: list = [None] * len(singles)
    with deploy(chain.parts, config) as batched:

        def send(index):
            status, headers, body = request(batched.url, encode_npz(singles[index]))
            answers[index] = (status, headers, body)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(singles))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    batches = []
    for (status, headers, body), want in zip(answers, expected):
        assert status == 200, body
        outputs = decode_response(body, headers["content-type"], 1 << 30)
        # each request gets its own rows back; stacking may change the last bits of a row
        np.testing.assert_allclose(outputs["output"], want["output"], rtol=1e-5, atol=1e-6)
        batches += json.loads(headers["x-modelcut-timing"])["stages_batch"]
    assert max(batches) > 1, batches


def test_interventions_act_at_the_cuts(chain, cluster):
    halve = load_callable(f"{HERE / 'interventions.py'}:halve_float_values")
    config = {
        "name": "acting",
        "port": cluster.port,
        "route": "/acting",
        "boundaries": [
            {"intervene": f"{HERE / 'interventions.py'}:halve_float_values"},
            {"noise": 0.5, "seed": 7},
        ],
    }
    noise = gaussian_noise(0.5, seed=7)

    def both(cut, values):
        return halve(cut, values) if cut == 0 else noise(cut, values)

    expected = modelcut.run_chain(chain.parts, chain.feeds, intervention=both)
    with deploy(chain.parts, config) as acting:
        status, headers, body = request(acting.url, encode_npz(chain.feeds))
        assert status == 200, body
        outputs = decode_response(body, headers["content-type"], 1 << 30)
        assert_equal_outputs(outputs, expected)
        assert not np.array_equal(outputs["output"], chain.whole["output"])


def test_a_failing_intervention_gets_500_naming_the_cut(chain, cluster):
    config = {
        "name": "failing",
        "port": cluster.port,
        "route": "/failing",
        "boundaries": [{"intervene": f"{HERE / 'interventions.py'}:fail"}],
    }
    with deploy(chain.parts[:2], config) as failing:
        status, _, body = request(failing.url, encode_npz(chain.feeds))
        assert status == 500
        assert (
            body.decode()
            == "the intervention at cut 1 failed: RuntimeError: this intervention always fails\n"
        )


def test_a_stage_no_node_can_run_is_refused_before_deploying(chain, cluster):
    config = {"name": "nowhere", "port": cluster.port, "stages": [{}, {"resources": {"gpu_box": 1}}]}
    started = time.monotonic()
    with pytest.raises(modelcut.Error, match=r"stage 2 \(resnet.part2.onnx\) asks for gpu_box=1 but no node"):
        deploy(chain.parts[:2], config)
    assert time.monotonic() - started < 30
