"""A SavedModel folder as untrusted input: only regular files and folders
inside it are read, checked before TensorFlow opens anything (a FIFO would
block the read forever, a link could lead anywhere), and every refusal is
one line on stderr, TensorFlow's own logging kept quiet."""

from __future__ import annotations

import os
import shutil

import pytest
from cli_support import assert_one_line_error, run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import model_cache
import modelcut
import tf_models

pytestmark = pytest.mark.usefixtures("both_commands")  # the Python command and the native executable

DATA = os.path.join("variables", "variables.data-00000-of-00001")


@pytest.fixture(scope="module")
def saved_model():
    """The residual SavedModel of test_saved_model.py, from the test model
    cache (tests/model_cache.py): read-only, copy_of() it to change it."""
    return model_cache.entry("tf-residual", tf_models.export_residual, sources=[tf_models]) / "residual"


def copy_of(saved_model, tmp_path, name="copy"):
    folder = tmp_path / name
    shutil.copytree(saved_model, folder)
    return folder


@pytest.mark.parametrize("command", [["inspect"], ["split", "--at", "fc2", "-o", "OUT"]])
def test_a_fifo_in_the_folder_is_refused_not_waited_for(saved_model, tmp_path, command):
    folder = copy_of(saved_model, tmp_path)
    os.unlink(folder / DATA)
    os.mkfifo(folder / DATA)
    out = tmp_path / "out"
    args = [str(out) if word == "OUT" else word for word in command]
    # A hang fails here, it does not hang the suite.
    result = run_cli(args[0], folder, *args[1:], timeout=120, subprocess=True)
    assert_one_line_error(result, "variables.data-00000-of-00001", "FIFO")
    assert not out.exists()


def test_a_link_leading_out_of_the_folder_is_refused(saved_model, tmp_path):
    folder = copy_of(saved_model, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(folder / "variables", elsewhere)
    os.symlink(elsewhere, folder / "variables")
    assert_one_line_error(
        run_cli("inspect", folder, timeout=120, subprocess=True),
        f"'{folder / 'variables'}' is a symbolic link leading outside",
    )
    for name in ("saved_model.pb", "fingerprint.pb"):
        other = copy_of(saved_model, tmp_path, name + ".model")
        shutil.move(other / name, tmp_path / (name + ".moved"))
        os.symlink(tmp_path / (name + ".moved"), other / name)
        assert_one_line_error(
            run_cli("inspect", other, timeout=120, subprocess=True), name, "symbolic link leading outside"
        )


def test_a_link_inside_the_folder_is_followed(saved_model, tmp_path):
    folder = copy_of(saved_model, tmp_path)
    shutil.move(folder / "variables", folder / "real_variables")
    os.symlink("real_variables", folder / "variables")
    result = run_cli("inspect", folder, timeout=300, subprocess=True)
    assert result.returncode == 0, result.stderr


def test_saved_model_pb_that_is_not_a_file(tmp_path):
    for name, make in [("folder", os.mkdir), ("fifo", os.mkfifo)]:
        folder = tmp_path / name
        folder.mkdir()
        make(folder / "saved_model.pb")
        assert_one_line_error(
            run_cli("inspect", folder, timeout=120, subprocess=True), f"{folder / 'saved_model.pb'}"
        )


def test_a_broken_saved_model_pb_is_named(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff not a SavedModel")
    line = assert_one_line_error(
        run_cli("inspect", folder, timeout=300, subprocess=True),
        "the SavedModel's saved_model.pb cannot be read",
    )
    assert "b'" not in line  # TensorFlow's reason, without its bytes-typed path


def test_the_saved_model_pb_file_itself_points_to_the_folder(saved_model):
    assert_one_line_error(
        run_cli("inspect", saved_model / "saved_model.pb", timeout=120, subprocess=True),
        f"pass the SavedModel's folder '{saved_model}'",
    )


def test_tensorflow_logs_nothing_before_the_error(saved_model, tmp_path):
    """The error is the only line, although TensorFlow loaded the model."""
    split = run_cli(
        "split",
        saved_model,
        "--at",
        "no_such_layer",
        "-o",
        tmp_path / "out",
        "-q",
        timeout=300,
        subprocess=True,
    )
    assert_one_line_error(split, "no_such_layer")
    inspect = run_cli("inspect", saved_model, "--signature", "nope", timeout=300, subprocess=True)
    assert_one_line_error(inspect, "no signature 'nope'")


def test_the_api_checks_the_folder_too(saved_model, tmp_path):
    folder = copy_of(saved_model, tmp_path)
    os.unlink(folder / DATA)
    os.mkfifo(folder / DATA)
    for call in (lambda: modelcut.inspect(folder), lambda: modelcut.verify(folder, [folder])):
        with pytest.raises(modelcut.Error, match="FIFO"):
            call()
