"""The speed bench: which secml figures a ratio is taken against, and the secml script reading the same digits."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from replication import published
from replication.bench import secml_figures

MEASURED = {"library": "secml 0.15.6", "attack": "CAttackEvasionPGDExp, double_init False", "configurations": {
    "10000": {"eps1": {"s_per_sample": 20.0, "accuracy": 0.6}, "eps2": {"s_per_sample": 30.0, "accuracy": 0.4}}}}


def test_measured_secml_figures_win_and_missing_sizes_fall_back_to_the_reference():
    figures, source = secml_figures(MEASURED, 10000)
    assert figures[1.0]["s_per_sample"] == 20.0 and figures[2.0]["accuracy"] == 0.4
    assert source.startswith("measured here") and "double_init False" in source  # which secml attack it was
    figures, source = secml_figures(MEASURED, 1000)  # not measured at this size: issue 11's figures, exact
    assert figures is published.SECML_REFERENCE and source == "issue 11's measurement"
    figures, source = secml_figures(None, 10000)  # nothing measured: the 1,000-image figures, labelled as such
    assert figures is published.SECML_REFERENCE and source.endswith("not at this size")


@pytest.mark.data
def test_secml_script_reads_the_digits_the_package_reads(data_dir):
    """benchmarks/secml_dnr.py runs outside the package (its own Python) and reads the idx files itself: the same
    images, scaled the same, and labels as `replication.data` gives the bench."""
    from replication.data import datasets, draws
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "secml_dnr.py"
    spec = importlib.util.spec_from_file_location("secml_dnr", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    x_train, y_train, x_test, y_test = script.load_mnist(Path(data_dir))
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        ours = datasets.load("mnist", split, data_dir)
        np.testing.assert_allclose(x, draws.pixels(ours.images).reshape(len(x), -1), rtol=0, atol=1e-7)
        np.testing.assert_array_equal(y, ours.labels)


def test_bench_module_runs_as_a_script():
    """`make bench` is `python -m replication.bench`: the module must call its main (its --help answers)."""
    done = subprocess.run([sys.executable, "-m", "replication.bench", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "--secml" in done.stdout
