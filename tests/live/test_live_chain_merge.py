"""run_chain and merge with Keras parts: live parts from modelcut.split and
part files (.keras), with the intervention API of ONNX parts; merge back
into one model that computes what the original computes."""

from __future__ import annotations

import keras
import live_models
import modelcut
import numpy as np
import pytest
from cli_support import run_cli


@pytest.fixture(scope="module")
def residual():
    case = live_models.residual_model()
    return case, modelcut.split(case.model, at=case.at)


def test_run_chain_noise_changes_the_output_and_sigma_zero_reproduces_it(residual):
    case, result = residual
    expected = np.asarray(case.model(case.inputs))
    plain = modelcut.run_chain(result.models, {"x": case.inputs})
    assert list(plain) == ["out"]
    assert np.array_equal(plain["out"], expected)
    silent = modelcut.run_chain(result.models, {"x": case.inputs}, intervention=modelcut.gaussian_noise(0.0))
    assert np.array_equal(silent["out"], expected)
    noisy = modelcut.run_chain(result.models, {"x": case.inputs}, intervention=modelcut.gaussian_noise(0.5))
    assert not np.allclose(noisy["out"], expected)
    again = modelcut.run_chain(result.models, {"x": case.inputs}, intervention=modelcut.gaussian_noise(0.5))
    assert np.array_equal(noisy["out"], again["out"])  # same seed, same noise


def test_interventions_see_the_crossing_values_by_the_cores_names(residual):
    case, result = residual
    seen = {}

    def zero_d2(boundary, values):
        seen[boundary] = {name: value.copy() for name, value in values.items()}
        return {**values, "d2": np.zeros_like(values["d2"])}

    out = modelcut.run_chain(result.models, {"x": case.inputs}, intervention=zero_d2)
    assert sorted(seen[0]) == sorted(value["name"] for value in result.parts[1]["inputs"]) == ["d1", "d2"]
    model_a, model_b = result.models
    d2, d1 = model_a(case.inputs)
    assert np.array_equal(seen[0]["d2"], np.asarray(d2))
    assert np.array_equal(out["out"], np.asarray(model_b([np.zeros_like(np.asarray(d2)), np.asarray(d1)])))
    # Only the named value gets noise.
    noisy = modelcut.run_chain(
        result.models, {"x": case.inputs}, intervention=modelcut.gaussian_noise(0.3, names=["d1"])
    )
    assert not np.allclose(noisy["out"], out["out"])


def test_run_chain_names_a_missing_value():
    case = live_models.seed_model()
    parts = modelcut.split(case.model, at="fc2").models
    with pytest.raises(modelcut.ChainError, match=r"part 1 needs input\(s\) \['fc2'\]"):
        modelcut.run_chain(parts, {"input_layer": case.inputs}, intervention=lambda k, values: {"other": 0})


def test_run_chain_on_keras_part_files(tmp_path):
    case = live_models.seed_model()
    path = tmp_path / "seed.keras"
    case.model.save(path)
    files = modelcut.split(path, at="fc2", output_dir=tmp_path / "parts").paths
    expected = np.asarray(case.model(case.inputs))
    plain = modelcut.run_chain(files, {"input_layer": case.inputs}, intervention=modelcut.gaussian_noise(0.0))
    assert np.array_equal(plain["fc4"], expected)
    noisy = modelcut.run_chain(files, {"input_layer": case.inputs}, intervention=modelcut.gaussian_noise(0.2))
    assert not np.allclose(noisy["fc4"], expected)
    live = modelcut.split(case.model, at="fc2").models
    assert np.array_equal(
        noisy["fc4"],
        modelcut.run_chain(live, {"input_layer": case.inputs}, intervention=modelcut.gaussian_noise(0.2))[
            "fc4"
        ],
    )


@pytest.mark.parametrize("builder", ["seed_model", "residual_model", "nested_backbone"])
def test_merge_of_live_parts_equals_the_original(builder):
    case = getattr(live_models, builder)()
    parts = modelcut.split(case.model, at=case.at).models
    merged = modelcut.merge(parts)
    assert isinstance(merged, keras.Model)
    assert np.array_equal(np.asarray(merged(case.inputs)), np.asarray(case.model(case.inputs)))
    # Flat: no nested model left, and the original's layer objects.
    original = {id(layer) for layer in case.model._flatten_layers()}
    assert all(not isinstance(layer, keras.Model) for layer in merged.layers)
    assert all(
        id(layer) in original for layer in merged.layers if not isinstance(layer, keras.layers.InputLayer)
    )


def test_merge_of_multi_output_parts_keeps_the_named_outputs():
    model, feeds = live_models.multi_io_model()
    merged = modelcut.merge(modelcut.split(model, at=["cat"]).models)
    expected, actual = model(feeds), merged(feeds)
    assert sorted(actual) == sorted(expected)
    assert all(np.array_equal(np.asarray(actual[name]), np.asarray(expected[name])) for name in expected)


def test_merge_of_keras_part_files_through_the_cli(tmp_path):
    case = live_models.residual_model()
    path = tmp_path / "residual.keras"
    case.model.save(path)
    files = modelcut.split(path, at=["d2", "act"], output_dir=tmp_path / "parts").paths
    merged_path = tmp_path / "merged.keras"
    done = run_cli("merge", *files, "-o", merged_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(merged_path)
    merged = keras.models.load_model(merged_path)
    assert np.array_equal(np.asarray(merged(case.inputs)), np.asarray(case.model(case.inputs)))
    # An existing output is kept unless --force.
    refused = run_cli("merge", *files, "-o", merged_path)
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert run_cli("merge", *files, "-o", merged_path, "--force").returncode == 0
    # A part is never overwritten, and the output must be a .keras file.
    refused = run_cli("merge", *files, "-o", files[0], "--force")
    assert refused.returncode == 2 and "is the input" in refused.stderr
    refused = run_cli("merge", *files, "-o", tmp_path / "merged.h5")
    assert refused.returncode == 2 and ".keras" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.keras", "parts", "residual.keras"]


def test_merge_api_of_files_writes_a_keras_file(tmp_path):
    case = live_models.seed_model()
    path = tmp_path / "seed.keras"
    case.model.save(path)
    files = modelcut.split(path, at="fc2", output_dir=tmp_path / "parts").paths
    report = modelcut.merge(files, tmp_path / "whole.keras")
    assert report["path"] == str(tmp_path / "whole.keras") and report["nodes"] == 4
    merged = keras.models.load_model(report["path"])
    assert np.array_equal(np.asarray(merged(case.inputs)), np.asarray(case.model(case.inputs)))


def test_merge_refuses_parts_that_do_not_chain(tmp_path):
    case = live_models.residual_model()
    parts = modelcut.split(case.model, at=["d2", "act"]).models
    with pytest.raises(modelcut.ChainError, match="do not chain|takes 2 input"):
        modelcut.merge([parts[0], parts[2]])
    with pytest.raises(modelcut.ChainError, match="takes 1 input"):
        modelcut.merge([parts[1], parts[0]])
    case.model.save(tmp_path / "residual.keras")
    files = modelcut.split(tmp_path / "residual.keras", at=["d2"], output_dir=tmp_path / "p").paths
    refused = run_cli("merge", files[1], files[0], "-o", tmp_path / "m.keras")
    assert (
        refused.returncode == 2
        and "modelcut: error:" in refused.stderr
        and len(refused.stderr.splitlines()) == 1
    )
    assert not (tmp_path / "m.keras").exists()


def test_part_files_with_an_unregistered_custom_layer_take_custom_objects(tmp_path):
    case = live_models.custom_layers(registered=False)
    case.model.save(tmp_path / "custom.keras")
    files = modelcut.split(tmp_path / "custom.keras", at="custom", output_dir=tmp_path / "p").paths
    with pytest.raises(TypeError, match="Scale"):
        modelcut.run_chain(files, {"x": case.inputs})
    objects = {"Scale": live_models.Scale}
    out = modelcut.run_chain(files, {"x": case.inputs}, custom_objects=objects)
    assert np.array_equal(out["d2"], np.asarray(case.model(case.inputs)))
    report = modelcut.merge(files, tmp_path / "whole.keras", custom_objects=objects)
    merged = keras.models.load_model(report["path"], custom_objects=objects)
    assert np.array_equal(np.asarray(merged(case.inputs)), np.asarray(case.model(case.inputs)))
