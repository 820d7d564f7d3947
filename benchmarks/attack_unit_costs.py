"""What one PGD iteration of the DNR paper's attack costs on CIFAR-10 against MNIST, per model, so that the
CIFAR-10 attack units the ledger has never run here get an estimate (issue 20, section 2, item 5).

Per dataset and model (the DNN, NR, DNR), one iteration of the protocol's PGD (`paper`: 11 candidate steps, batch
`attack_batch`, float64 search) on the paper's network (untrained: the work per input does not depend on the
weights) and SVMs of `--support-vectors` random vectors each (10,000 by default: every SVM training image, the
most a paper-count SVM can keep), timed on a batch of test-sized random images. A CIFAR-10 unit is then estimated
as the ledger's MNIST unit of the same kind and model times the ratio of the two iterations' costs: the same test
digits (1,000), iterations (up to 100) and batches on both, the assumption being that the attack runs as many
iterations on CIFAR-10 as on MNIST. Run it on a quiet machine:

    python benchmarks/attack_unit_costs.py --threads 1 --out results/attack_unit_costs.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

MODELS = ("dnn", "nr", "dnr")


def iteration_seconds(attack, x, y, repeats: int) -> float:
    """Median seconds of one `RejectPGD` iteration on the batch (x, y), after a warm-up that traces it."""
    import tensorflow as tf

    from replication.bench import _timeit
    args = (tf.constant(x), tf.constant(x), tf.constant(y), tf.constant(1.0), tf.fill([len(x)], 1e9))
    return _timeit(lambda: attack._iterate(*args)[0].numpy(), repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--support-vectors", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="results/attack_unit_costs.json")
    args = ap.parse_args()

    from replication.runs import runtime
    runtime.configure(args.threads)
    import numpy as np

    from keras_models.dnr import FEATURE_LAYERS, build_cifar_net, build_mnist_net
    from replication.attacks import RejectPGD
    from replication.bench import synthetic_scorer
    from replication.runs import protocols

    out = {"machine": runtime.identity(), "threads": args.threads, "support_vectors": args.support_vectors,
           "seconds_per_iteration": {}}
    for name, build in (("mnist", build_mnist_net), ("cifar10", build_cifar_net)):
        p = getattr(protocols.dnr("paper"), name)
        model = build()
        x = np.random.default_rng(0).random((p.attack_batch,) + tuple(model.input_shape[1:]), dtype=np.float32)
        y = (np.arange(p.attack_batch) % 10).astype(np.int64)
        row = out["seconds_per_iteration"][name] = {"batch": p.attack_batch}
        for model_name in MODELS:
            target = model if model_name == "dnn" else synthetic_scorer(model, FEATURE_LAYERS[name], model_name,
                                                                        args.support_vectors)
            attack = RejectPGD(target, eta=p.pgd_eta, max_iter=p.pgd_max_iter, tol=p.pgd_tol,
                               doublings=p.pgd_doublings, batch_size=p.attack_batch)
            row[model_name] = iteration_seconds(attack, x, y, args.repeats)
            print(f"{name} {model_name}: one iteration on {p.attack_batch} images {row[model_name]:.3f} s",
                  flush=True)
    mnist, cifar = out["seconds_per_iteration"]["mnist"], out["seconds_per_iteration"]["cifar10"]
    out["cifar10_over_mnist"] = {m: cifar[m] / mnist[m] for m in MODELS}
    print("CIFAR-10 / MNIST per iteration: " + ", ".join(f"{m} {r:.1f}x" for m, r in out["cifar10_over_mnist"].items()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
