"""Shared fixtures: the real data folder (skip when absent; fail under CI), and a small MNIST model trained on a
bundled slice of MNIST (unit tests of attacks and SVMs never need the data folder)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from replication.runs import runtime

runtime.configure()

DATA_DIR = Path(os.environ.get("REPLICATION_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def under_ci() -> bool:
    """CI sets CI=true: there, tests that need the real data fail instead of skipping."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "mnist").is_dir():
        message = f"real data folder {DATA_DIR} is absent (set REPLICATION_TEST_DATA)"
        if under_ci():
            pytest.fail(f"{message}: under CI the data tests must run, not skip", pytrace=False)
        pytest.skip(message)
    return DATA_DIR


BUNDLED_MNIST = Path(__file__).parent / "data" / "mnist_test_slice.npz"  # the first 3,000 official MNIST test digits


@pytest.fixture(scope="session")
def mnist_slice():
    """3,000 real MNIST test images in [-0.5, 0.5] with labels, bundled with the tests (no data folder needed)."""
    from replication.data import scale
    with np.load(BUNDLED_MNIST) as bundle:
        return scale(bundle["images"], (-0.5, 0.5)), bundle["labels"]


@pytest.fixture(scope="session")
def small_model(mnist_slice):
    """A small CNN trained for a few seconds on real MNIST (logits output), ~90% accurate."""
    import keras
    x, y = mnist_slice
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:2500], y[:2500], epochs=3, batch_size=64, verbose=0)
    acc = (model.predict(x[2500:], verbose=0).argmax(1) == y[2500:]).mean()
    assert acc > 0.85, acc
    return model


@pytest.fixture(scope="session")
def correct_samples(small_model, mnist_slice):
    """Held-out images the small model classifies correctly."""
    x, y = mnist_slice
    x, y = x[2500:], y[2500:]
    ok = small_model.predict(x, verbose=0).argmax(1) == y
    return x[ok], y[ok]


def logits(model):
    return lambda z: model(z, training=False)


np.set_printoptions(precision=4)


def pytest_collection_modifyitems(config, items):
    """Tests that take the real data folder are marked `data`, those running a smoke pipeline `slow` (both left
    out by `make test-fast`). Under pytest-xdist (`make test`: `--dist loadgroup`) the tests sharing one of the
    session's smoke runs go to one worker, so that each smoke run is computed once."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "data_dir" in names:
            item.add_marker(pytest.mark.data)
        runs = [n for n in names if n.endswith("smoke_run")]
        if runs or "smoke_run" in item.name:
            item.add_marker(pytest.mark.slow)
        if runs:
            item.add_marker(pytest.mark.xdist_group(runs[0]))


# The three experiments' smoke runs, in this process (shared by the pipeline tests and the Ray equality tests)
@pytest.fixture(scope="session")
def smoke_run(data_dir, tmp_path_factory):
    from replication.background import experiment
    from replication.runs import protocols
    out = tmp_path_factory.mktemp("smoke")
    return out, experiment.run(protocols.background("smoke"), out, str(data_dir), seed=0)


@pytest.fixture(scope="session")
def dnr_smoke_run(data_dir, tmp_path_factory):
    from replication.dnr import experiment
    from replication.runs import protocols
    out = tmp_path_factory.mktemp("dnr_smoke")
    return out, experiment.run(protocols.dnr("smoke"), out, str(data_dir), seed=0)


@pytest.fixture(scope="session")
def unified_smoke_run(data_dir, tmp_path_factory):
    from replication.runs import protocols
    from replication.unified import experiment
    out = tmp_path_factory.mktemp("unified_smoke")
    return out, experiment.run(protocols.unified("smoke"), out, str(data_dir), seed=0)
