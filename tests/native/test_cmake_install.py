# `cmake --install` of a build puts the native executable, the library, its
# headers and its CMake package in place, and the installed executable runs
# from there without the source or build tree.
import os
import subprocess

from cli_support_path import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model


def test_cmake_install_puts_the_command_and_library_in_place(native_modelcut, tmp_path):
    build = os.path.dirname(native_modelcut)
    assert os.path.exists(os.path.join(build, "CMakeCache.txt")), f"{build} is not a CMake build folder"
    prefix = tmp_path / "prefix"
    installed = subprocess.run(
        ["cmake", "--install", build, "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    for path in ("bin/modelcut", "include/modelcut/modelcut.h", "include/modelcut/error.h"):
        assert (prefix / path).is_file(), path
    libraries = list(prefix.glob("lib*/libmodelcut.a"))
    assert libraries, list(prefix.rglob("*"))
    package = libraries[0].parent / "cmake" / "modelcut"
    assert (package / "modelcutConfig.cmake").is_file() and (package / "modelcutTargets.cmake").is_file()

    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    command = [str(prefix / "bin" / "modelcut"), "split", model, "--at", "fc2", "-o", str(tmp_path / "parts")]
    result = subprocess.run(["env", "-i", *command], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "parts" / f"mlp.part{i}.onnx") for i in (1, 2)]
