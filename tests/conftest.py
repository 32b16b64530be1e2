# Settings for every test folder.
import sys

# torch's CUDA build imports triton (a GPU kernel compiler) when torchvision
# or torch._dynamo loads; triton's bundled LLVM crashes the process when
# TensorFlow is already loaded in it ("import tensorflow; import triton" is a
# segfault). The tests run on the CPU and never need triton, so it is hidden:
# torch then takes it for absent, as on a CPU-only install.
sys.modules.setdefault("triton", None)
