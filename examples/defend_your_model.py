"""Defend your own Keras classifier with NR, DNR and a background class, attack each adaptively, and print a
security evaluation: accuracy (%, 95% interval) per eps under the defense-aware PGD (with secml's restart),
Carlini-Wagner L2, and the per-sample worst case of the two.

Run as is, it trains a small CNN on MNIST digits bundled with the tests (a couple of minutes on a 2-core CPU);
`--data-dir` takes the official MNIST files instead. Swap `train_classifier` for your own model: any Keras
classifier with logits out and named layers will do.

    python examples/defend_your_model.py [--data-dir ../shared/data] [--test 60]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from replication.attacks import FixedCarliniWagnerL2, RejectPGD
from replication.defenses import DNR, NR, BackgroundClass, Undefended
from replication.evaluation import MinimumNorm, security_evaluation
from replication.runs import runtime  # imports TensorFlow without its start-up log lines (import keras after it)

BUNDLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "mnist_test_slice.npz"


def load_digits(data_dir: str | None):
    """MNIST images in [0, 1] (n, 28, 28, 1) and labels: the official test set, or the bundled 3,000 digits."""
    if data_dir:
        from replication.data import load, scale
        ds = load("mnist", "test", data_dir)
        return scale(ds.images, (0.0, 1.0)), ds.labels
    with np.load(BUNDLED) as bundle:
        return bundle["images"].astype(np.float32) / 255.0, bundle["labels"].astype(np.int64)


def train_classifier(x: np.ndarray, y: np.ndarray, classes: int, seed: int = 0):
    """A small CNN with named layers, logits out (a keras.Model). Replace it with your own model."""
    import keras
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(x.shape[1:]),
        keras.layers.Conv2D(16, 3, activation="relu", name="conv"),
        keras.layers.MaxPooling2D(name="pool"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(64, name="hidden"),
        keras.layers.ReLU(name="hidden_relu"),
        keras.layers.Dense(classes, name="logits"),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model


def scrambled(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Background images for the extra class: digits with their pixels shuffled (same ink, no shape)."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).copy()
    for row in flat:
        rng.shuffle(row)
    return flat.reshape(x.shape)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None, help="folder with the official MNIST files (default: bundled digits)")
    ap.add_argument("--test", type=int, default=60, help="test digits attacked per defense (default 60)")
    args = ap.parse_args(argv)
    runtime.configure()
    start = time.time()
    x, y = load_digits(args.data_dir)
    train, svm, val, test = slice(0, 1500), slice(1500, 2300), slice(2300, 2600), slice(2600, 2600 + args.test)

    # 1. your network, and the defenses built on it (each owns the network and the layers it reads)
    net = train_classifier(x[train], y[train], 10)
    nr = NR(net, "logits", C=10.0, gamma=1e-2).fit(x[svm], y[svm])
    dnr = DNR(net, ["pool", "hidden_relu", "logits"], [(10.0, 1e-2)] * 3, combiner_params=(1.0, 0.1))
    dnr.fit(x[svm], y[svm])
    background_net = train_classifier(np.concatenate([x[train], scrambled(x[train])]),
                                      np.concatenate([y[train], np.full(len(y[train]), 10)]), 11)
    background = BackgroundClass(background_net, background=10)
    for defense in (nr, dnr):
        defense.set_threshold(x[val], reject_rate=0.1)  # 10% of clean validation digits rejected

    # 2. attack each with the defense-aware PGD (restart from the validation digits) and Carlini-Wagner L2
    defenses = {"undefended": Undefended(net), "NR": nr, "DNR": dnr, "background class": background}
    for name, defense in defenses.items():
        attacks = {
            "PGD + restart": RejectPGD(defense, max_iter=30, restart=x[val]),
            "CW-L2": MinimumNorm(lambda xs, ys, d=defense: FixedCarliniWagnerL2(
                d, y=ys, max_iterations=100, binary_search_steps=4, initial_const=1.0,
                learning_rate=0.05).attack(xs)),
        }
        report = security_evaluation(defense, x[test], y[test], eps_grid=[0.0, 0.5, 1.0, 2.0, 3.0], attacks=attacks)
        print(f"\n## {name}\n\n{report.table()}", flush=True)
    print(f"\n{time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
