# Every end-to-end cut records (model, cuts, max abs error, bit-identical)
# here; the summary at the end of the run (conftest.py) reports how many
# were bit-identical.
CUT_RESULTS: list[tuple[str, tuple[str, ...], float, bool]] = []
