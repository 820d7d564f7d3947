"""`make bench`: speed of the TF DNR pieces against a plain NumPy baseline (CPU or GPU, whatever TF sees)."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable, Dict

import numpy as np


def _timeit(fn: Callable[[], object], repeats: int = 10) -> float:
    """Median seconds of fn() after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def numpy_svm_forward_grad(z, vectors, weights, intercepts, gamma, upstream):
    """Baseline: the RBF decision function and its analytic input gradient in NumPy."""
    sq = (z ** 2).sum(1)[:, None] - 2 * z @ vectors.T + (vectors ** 2).sum(1)[None]
    k = np.exp(-gamma * np.maximum(sq, 0))
    scores = k @ weights + intercepts
    coef = (upstream @ weights.T) * k  # d sum(upstream * scores) / d k, times k
    grad = -2 * gamma * (coef.sum(1, keepdims=True) * z - coef @ vectors)
    return scores, grad


def bench_svm(n_sv: int = 3000, dim: int = 200, classes: int = 10, batch: int = 100) -> Dict[str, float]:
    """One forward + backward of a 10-class RBF SVM: tf.function, eager, NumPy analytic."""
    import tensorflow as tf

    from replication.defenses import TFRBFSVM
    rng = np.random.default_rng(0)
    vectors, weights = rng.normal(size=(n_sv, dim)), rng.normal(size=(n_sv, classes))
    intercepts, gamma = rng.normal(size=classes), 1.0 / dim
    z = rng.normal(size=(batch, dim))
    upstream = rng.normal(size=(batch, classes))
    out: Dict[str, float] = {}
    for dtype in (tf.float64, tf.float32):
        svm = TFRBFSVM.from_arrays(vectors, weights, intercepts, gamma, dtype)
        zt, ut = tf.constant(z, dtype), tf.constant(upstream, dtype)

        def step(zz):
            with tf.GradientTape() as tape:
                tape.watch(zz)
                total = tf.reduce_sum(svm(zz) * ut)
            return tape.gradient(total, zz)

        compiled = tf.function(step)
        name = dtype.name
        out[f"tf_function_{name}_ms"] = 1e3 * _timeit(lambda: compiled(zt).numpy())
        out[f"tf_eager_{name}_ms"] = 1e3 * _timeit(lambda: step(zt).numpy())
    out["numpy_analytic_float64_ms"] = 1e3 * _timeit(lambda: numpy_svm_forward_grad(z, vectors, weights, intercepts,
                                                                                     gamma, upstream))
    out["samples_per_s_tf_function_float64"] = batch / (out["tf_function_float64_ms"] / 1e3)
    return out


def _dnr_like_scorer(sv_per_layer: int = 2000):
    """Carlini's MNIST net (untrained) -> three layer SVMs -> combiner, with the fast protocol's sizes."""
    import tensorflow as tf

    from keras_models.dnr import FEATURE_LAYERS, build_mnist_net
    from replication.defenses import TFRBFSVM, Scorer, layer_outputs, with_reject
    rng = np.random.default_rng(0)
    model = build_mnist_net()
    ext = layer_outputs(model, FEATURE_LAYERS["mnist"])
    layers = [TFRBFSVM.from_arrays(rng.random((sv_per_layer, d)), rng.normal(size=(sv_per_layer, 10)),
                                   np.zeros(10), g) for d, g in ((200, 1e-3), (200, 1e-2), (10, 1e-2))]
    combiner = TFRBFSVM.from_arrays(rng.normal(size=(sv_per_layer, 30)), rng.normal(size=(sv_per_layer, 10)),
                                    np.zeros(10), 1.0)
    return Scorer(lambda x: with_reject(combiner(tf.concat([s(f) for s, f in zip(layers, ext(x, training=False))], 1)),
                                        0.0), name="dnr")


def bench_attack(batch: int = 100) -> Dict[str, float]:
    """One PGD iteration (gradient + 11 step sizes) and a small security evaluation on a DNR-sized scorer."""
    import tensorflow as tf

    from replication.attacks import RejectPGD
    scorer = _dnr_like_scorer()
    x = np.random.default_rng(1).random((batch, 28, 28, 1), dtype=np.float32)
    y = np.arange(batch) % 10
    attack = RejectPGD(scorer, eta=0.01, max_iter=10, tol=-1.0)  # tol < 0: never stop early, for timing
    args = (tf.constant(x), tf.constant(x), tf.constant(y, tf.int64), tf.constant(1.0),
            tf.fill([batch], 1e9), tf.ones(batch, tf.bool))
    iteration = _timeit(lambda: attack._iterate(*args)[0].numpy(), repeats=5)
    grid = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
    start = time.perf_counter()
    for eps in grid:
        attack(x, y, eps)
    sweep = time.perf_counter() - start
    return {"pgd_iteration_ms": 1e3 * iteration, "pgd_iteration_samples_per_s": batch / iteration,
            "security_evaluation_s": sweep,
            "security_evaluation_setup": f"{batch} samples x {len(grid)} eps x 10 iterations, one model"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="results/bench.json")
    args = ap.parse_args()
    from replication import runtime
    runtime.configure()
    results = {"device": runtime.device_description(), "versions": runtime.versions(),
               "rbf_svm_forward_backward": bench_svm(), "attack": bench_attack()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
