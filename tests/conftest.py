# Settings and fixtures for every test folder.
import os
import sys

import pytest

# tests/cli/cli_support.py runs `modelcut` as a user would, as the Python
# command or as the native executable.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli"))

# torch's CUDA build imports triton (a GPU kernel compiler) when torchvision
# or torch._dynamo loads; triton's bundled LLVM crashes the process when
# TensorFlow is already loaded in it ("import tensorflow; import triton" is a
# segfault). The tests run on the CPU and never need triton, so it is hidden:
# torch then takes it for absent, as on a CPU-only install.
sys.modules.setdefault("triton", None)


@pytest.fixture(params=["python", "native"])
def both_commands(request):
    """Runs the test twice: with cli_support.run_cli (and cli_argv) meaning
    the Python command, then the native executable, which must behave the
    same (the executable hands verify, run, profile and serve to Python)."""
    from cli_support import use_command

    use_command(request.param)
    yield request.param
    use_command("python")


@pytest.fixture(scope="session", autouse=True)
def cached_models_untouched():
    """Fails the session if a test changed a model of the on-disk cache
    (tests/model_cache.py): cached models are shared by every run."""
    yield
    import model_cache

    changed = model_cache.changed_entries()
    lines = "\n".join(changed)
    assert not changed, f"tests changed cached models (copy a model before changing it):\n{lines}"


@pytest.fixture(scope="session")
def zoo_model():
    """Factory ``zoo_model(name) -> Path`` of the exported ONNX file of the
    end-to-end zoo model ``name`` (tests/e2e/zoo.py), from the test model
    cache (tests/model_cache.py): built (and checked with onnx + onnxruntime)
    only when not cached. tests/e2e, tests/native and tests/serve cut the
    same files; the files are read-only to them."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import model_cache
    import zoo

    def get(name: str):
        if name not in zoo.ZOO:
            raise KeyError(f"unknown zoo model {name!r}; known: {sorted(zoo.ZOO)}")
        return model_cache.model_file(
            f"zoo-{name}", f"{name}.onnx", lambda path: zoo.build(name, path), sources=[zoo]
        )

    return get


# The modules left out of the quick run (scripts/test.sh --quick, pytest -m
# "not slow"): each takes 25 s or more of test time in a full run (the
# per-test times are in build/pytest.xml), mostly because it starts Ray,
# loads TensorFlow in new processes, or exports or runs large models. The
# quick run keeps one or more tests of every command and format.
SLOW_MODULES = {
    "bottleneck/test_backends.py",
    "bottleneck/test_deletion.py",
    "bottleneck/test_per_sample.py",
    "e2e/test_flops.py",
    "e2e/test_layer_names.py",
    "e2e/test_onnx_cuts.py",
    "e2e/test_plan_models.py",
    "e2e/test_type_propagation.py",
    "keras/test_keras_cli.py",
    "keras/test_keras_code_layers.py",
    "keras/test_keras_hostile.py",
    "keras/test_keras_split.py",
    "live/test_live_backends.py",
    "native/test_hand_over.py",
    "native/test_isolated_hand_over.py",
    "native/test_profile_memory.py",
    "native/test_same_output.py",
    "serve/test_serve_cli.py",
    "serve/test_serve_cluster.py",
    "serve/test_serve_cwd.py",
    "serve/test_serve_faults.py",
    "tf/test_saved_model_files.py",
}


def pytest_collection_modifyitems(config, items):
    """Marks the tests of SLOW_MODULES slow. Under pytest-xdist
    (scripts/test.sh runs two workers with --dist loadgroup), every test that
    starts Ray runs in one worker, one after the other: two Ray clusters side
    by side would compete for the same two cores and for ports, and the
    serve tests time their requests."""
    tests_folder = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        module = os.path.relpath(str(item.path), tests_folder).replace(os.sep, "/")
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if module.startswith("serve/"):
            item.add_marker(pytest.mark.xdist_group("ray"))
