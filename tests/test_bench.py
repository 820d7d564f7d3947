"""The speed bench: which secml figures a ratio is taken against, and the secml script reading the same digits."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from replication.bench import secml_figures
from replication.reporting import published

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


def test_efficiency_compares_an_iteration_with_its_bare_compute(small_model, mnist_slice):
    """One RejectPGD iteration against its gradient and candidate forwards timed bare: a positive efficiency (the
    bare compute cannot take much longer than the iteration that contains it), per precision."""
    from replication.attacks import RejectPGD
    from replication.bench import bench_efficiency
    from replication.defenses import NR
    x, y = mnist_slice[0][:200] + 0.5, mnist_slice[1][:200]
    nr = NR(small_model, small_model.layers[-1].name, 10.0, 1e-2).fit(x[:150], y[:150])
    for precision in ("float64", "float32"):
        e = bench_efficiency(RejectPGD(nr, precision=precision), x[150:170], y[150:170],
                             network=lambda v: nr._feature_tensors(v), repeats=2)
        assert e["iteration_ms"] > 0 and 0.2 < e["efficiency"] < 2.0 and 0 < e["network_share"] < 2.0


def test_ratios_against_secml_name_their_figures():
    from replication.bench import with_secml
    row = {"s_per_sample": 0.1, "float32_s_per_sample": 0.05}
    config = with_secml({"svm_train": 10000, "eps1": dict(row), "eps2": dict(row)}, MEASURED)
    assert config["eps1"]["speedup"] == 200.0 and config["eps1"]["float32_speedup"] == 400.0
    assert config["secml_figures"].startswith("measured here")


def test_synthetic_scorers_have_the_defenses_shape_and_reject_column():
    """The timing stand-ins of benchmarks/attack_unit_costs.py: NR reads the last layer only, DNR every layer and a
    combiner; both give class scores and the reject score last, for the PGD to iterate on."""
    import tensorflow as tf

    from keras_models.dnr import FEATURE_LAYERS, build_mnist_net
    from replication.bench import synthetic_scorer
    model = build_mnist_net()
    x = tf.constant(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32))
    for defense in ("nr", "dnr"):
        scores = synthetic_scorer(model, FEATURE_LAYERS["mnist"], defense, support_vectors=7)(x).numpy()
        assert scores.shape == (3, 11) and np.all(scores[:, -1] == 0.0) and np.isfinite(scores).all()


@pytest.mark.data
def test_cifar_unit_times_runs_the_experiments_units_and_leaves_no_folder(data_dir, tmp_path):
    """benchmarks/cifar_unit_times.py at smoke on an untrained network: the defenses unit and each asked attack
    unit timed through the experiment's code, its scratch run folder removed; an eps off the grid is refused;
    `--sizes` times one SVM fit per layer and size."""
    import json

    from keras_models.dnr import build_cifar_net, compile_dnr_net
    network, out = tmp_path / "net.keras", tmp_path / "times.json"
    compile_dnr_net(build_cifar_net(), 0.01).save(network)
    script = str(Path(__file__).resolve().parents[1] / "benchmarks" / "cifar_unit_times.py")
    args = [sys.executable, script, "--network", str(network), "--protocol", "smoke", "--data-dir", str(data_dir),
            "--out", str(out), "--models", "nr", "dnr"]
    done = subprocess.run(args + ["--eps", "0.4"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    units = json.loads(out.read_text())["units"]
    assert set(units) == {"cifar10/run0/defenses", "cifar10/run0/nr/eps0.4", "cifar10/run0/dnr/eps0.4"}
    assert all(u["cpu_seconds"] > 0 for u in units.values())
    assert not list(tmp_path.glob("cifar_unit_times_*"))
    refused = subprocess.run(args + ["--eps", "0.3"], capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "--eps must be a non-zero eps" in refused.stderr
    sized = subprocess.run(args + ["--sizes", "20", "40"], capture_output=True, text=True, timeout=600)
    assert sized.returncode == 0, sized.stderr[-2000:]
    sizes = json.loads(out.read_text())["sizes"]  # one fit per layer and size, on the layer's own features
    assert [s["dimension"] for s in sizes.values()] == [4096, 8192, 10]
    assert all(s[n]["cpu_seconds"] > 0 and s[n]["support_vectors"] > 0 for s in sizes.values() for n in ("20", "40"))
