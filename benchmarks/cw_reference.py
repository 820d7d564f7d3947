"""A reference Carlini-Wagner L2, written from Carlini & Wagner's own `l2_attack.py` (not from CleverHans), and the
comparison of the package's `FixedCarliniWagnerL2` against it at small budgets (issue 22, section 3).

The reference follows the original code step for step: tanh box, loss sum(const * max(other - real + kappa, 0)) +
sum(||x' - x||^2), Adam restarted at every binary-search step, the best adversarial recorded from the scores of the
point *before* each update, early abort on the *batch's* summed loss every max_iterations // 10 steps, and the
original per-example binary search on const. Two arms differ from the package by construction: the batch abort
(the package aborts per example) and the point recorded (the package records after its forward of the same point;
identical semantics). Run as a script it trains the background experiment's Carlini-stage models at a protocol's
counts and attacks >= 200 targeted pairs per model with both, paired:

    python benchmarks/cw_reference.py --protocol fast --sources 25 --out results/cw_reference_fast.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf


def reference_cw_l2(model_fn, x: np.ndarray, targets: np.ndarray, n_classes: int, box=(0.0, 1.0),
                    binary_search_steps: int = 9, max_iterations: int = 1000, learning_rate: float = 1e-2,
                    initial_const: float = 1e-3, confidence: float = 0.0, abort_early: bool = True):
    """Targeted CW-L2 on one batch, as in Carlini & Wagner's l2_attack.py. Returns (adversarials, success, L2)."""
    x = np.asarray(x, np.float32)
    n = len(x)
    lo, hi = box
    mul, plus = (hi - lo) / 2.0, (hi + lo) / 2.0
    timg = tf.constant(np.arctanh((x - plus) / mul * 0.999999), tf.float32)
    lab = tf.constant(np.eye(n_classes, dtype=np.float32)[targets])
    original = tf.tanh(timg) * mul + plus
    lower, upper, const = np.zeros(n), np.full(n, 1e10), np.full(n, initial_const)
    o_best_l2, o_best_adv = np.full(n, 1e10), x.copy()
    modifier = tf.Variable(tf.zeros_like(timg))
    opt_m, opt_v = tf.Variable(tf.zeros_like(timg)), tf.Variable(tf.zeros_like(timg))

    @tf.function
    def step(c, t):
        with tf.GradientTape() as tape:
            new = tf.tanh(modifier + timg) * mul + plus
            out = model_fn(new)
            l2 = tf.reduce_sum(tf.square(new - original), axis=list(range(1, len(x.shape))))
            real = tf.reduce_sum(lab * out, 1)
            other = tf.reduce_max((1 - lab) * out - lab * 10000, 1)
            loss1 = tf.maximum(0.0, other - real + confidence)
            loss = tf.reduce_sum(c * loss1) + tf.reduce_sum(l2)
        grad = tape.gradient(loss, modifier)
        # Adam (TF1 AdamOptimizer, as the original uses), beta1 0.9, beta2 0.999, eps 1e-8
        opt_m.assign(0.9 * opt_m + 0.1 * grad)
        opt_v.assign(0.999 * opt_v + 0.001 * tf.square(grad))
        lr = learning_rate * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        modifier.assign_sub(lr * opt_m / (tf.sqrt(opt_v) + 1e-8))
        return loss, l2, out, new

    for outer in range(binary_search_steps):
        if binary_search_steps >= 10 and outer == binary_search_steps - 1:
            const = upper.copy()
        modifier.assign(tf.zeros_like(timg))
        opt_m.assign(tf.zeros_like(timg))
        opt_v.assign(tf.zeros_like(timg))
        best_l2, best_found = np.full(n, 1e10), np.zeros(n, bool)
        prev = np.inf
        c = tf.constant(const, tf.float32)
        for it in range(max_iterations):
            loss, l2, out, new = step(c, tf.constant(it + 1.0))
            loss, l2, out, new = float(loss), l2.numpy(), out.numpy(), new.numpy()
            if abort_early and it % max(max_iterations // 10, 1) == 0:
                if loss > prev * 0.9999:
                    break
                prev = loss
            hit = (out - confidence * np.eye(n_classes)[targets]).argmax(1) == targets
            better = hit & (l2 < best_l2)
            best_l2[better], best_found[better] = l2[better], True
            o_better = hit & (l2 < o_best_l2)
            o_best_l2[o_better], o_best_adv[o_better] = l2[o_better], new[o_better]
        upper = np.where(best_found, np.minimum(upper, const), upper)
        lower = np.where(best_found, lower, np.maximum(lower, const))
        const = np.where(upper < 1e9, (lower + upper) / 2, np.where(best_found, const, const * 10))
    success = o_best_l2 < 1e10
    return o_best_adv, success, np.sqrt(np.where(success, o_best_l2, 0.0))


def compare(protocol: str, sources: int, data_dir: str, out: Path, budgets=("fast", "smoke"), seed: int = 0,
            models_dir: str = "results/cw_reference") -> dict:
    """Both attacks on the background experiment's Carlini-stage models at `protocol`'s counts, with each of
    `budgets` (a protocol's binary-search steps, iterations, learning rate, initial constant)."""
    import dataclasses
    import tempfile

    from replication.background import assembly, carlini, experiment
    from replication.runs import protocols
    from replication.runs.results import RunStore

    proto = protocols.background(protocol)
    proto = dataclasses.replace(proto, letters="published",
                                carlini=dataclasses.replace(proto.carlini, sources=sources))
    pool = assembly.load_pool(proto.pool_split, data_dir, proto.pool_limit, seed)
    store = RunStore(Path(models_dir or tempfile.mkdtemp()) / f"cw_{protocol}")  # models kept there for a rerun
    _, kept = experiment.letter_choice(store, pool, proto, data_dir, seed)
    ready = carlini.prepare(store, pool, kept, proto, data_dir, seed)
    x, targets = np.repeat(ready.x, 9, axis=0), carlini.targets_for(ready.y)
    result = {"models_protocol": protocol, "attacks_per_model": int(len(x)), "budgets": {}}
    for level in budgets:
        b = protocols.background(level).carlini
        budget = dict(binary_search_steps=b.binary_search_steps, max_iterations=b.max_iterations,
                      learning_rate=b.learning_rate, initial_const=b.initial_const, confidence=b.confidence)
        result["budgets"][level] = {"budget": budget, "models": attack_both(ready, x, targets, budget)}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
    return result


def attack_both(ready, x: np.ndarray, targets: np.ndarray, budget: dict) -> dict:
    """Per model: both attacks' success (Wilson), the pairs only one finds, and the paired L2 difference."""
    from replication.attacks import FixedCarliniWagnerL2
    from replication.background import training
    from replication.evaluation import stats
    models = {}
    for name, model in ready.models.items():
        defense = training.defense_of(model)
        t = time.time()
        _, found_pkg, l2_pkg = FixedCarliniWagnerL2(defense, y=targets, targeted=True, batch_size=len(x),
                                                     **budget).attack_with_info(x)
        t_pkg = time.time() - t
        t = time.time()
        _, found_ref, l2_ref = reference_cw_l2(lambda v: model(v, training=False), x, targets,
                                               int(model.output_shape[-1]), training.PIXELS, **budget)
        t_ref = time.time() - t
        both = found_pkg & found_ref
        diff = stats.bootstrap_mean(l2_pkg[both] - l2_ref[both], scale=1.0) if both.sum() >= 2 else None
        models[name] = {
            "success_package": stats.wilson(int(found_pkg.sum()), len(x)).__dict__,
            "success_reference": stats.wilson(int(found_ref.sum()), len(x)).__dict__,
            "success_difference_pairs": {"package_only": int((found_pkg & ~found_ref).sum()),
                                         "reference_only": int((~found_pkg & found_ref).sum())},
            "l2_package_minus_reference": None if diff is None else diff.__dict__, "pairs_both": int(both.sum()),
            "l2_mean_package": float(l2_pkg[both].mean()) if both.any() else None,
            "l2_mean_reference": float(l2_ref[both].mean()) if both.any() else None,
            "seconds": {"package": t_pkg, "reference": t_ref}}
        print(name, budget, json.dumps(models[name]), flush=True)
    return models


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--protocol", choices=("fast", "smoke"), default="fast", help="the models' counts")
    ap.add_argument("--sources", type=int, default=25, help="source digits (9 targeted attacks each)")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from replication.runs import runtime
    runtime.configure(args.threads)
    compare(args.protocol, args.sources, args.data_dir,
            Path(args.out or f"results/cw_reference_{args.protocol}.json"))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
