"""Writes the seed corpus of the fuzz_pb target (tests/fuzz/corpus/fuzz_pb/):
the seed model frozen with convert_variables_to_constants_v2, and a TF1 while
loop graph, as the tests in test_graphdef_split.py build them. The corpus is
committed; run this again only to change it:

    .venv/bin/python tests/tf/make_pb_corpus.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import test_graphdef_split as builders  # noqa: E402


def main() -> None:
    corpus = HERE.parent / "fuzz" / "corpus" / "fuzz_pb"
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = {
        "keras_seed_frozen.pb": builders.freeze(builders.seed_model()),
        "tf1_while_loop.pb": builders.tf1_while_loop_graph(),
    }
    for name, graph_def in seeds.items():
        (corpus / name).write_bytes(graph_def.SerializeToString(deterministic=True))
        print(corpus / name)


if __name__ == "__main__":
    main()
