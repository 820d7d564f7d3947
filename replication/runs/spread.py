"""`make spread`: how much a result moves when only the thread count, the CPU kernels or op determinism change.

Each configuration runs in its own process (TensorFlow's threading is fixed at start-up): train the DNR paper's
MNIST net on a slice of MNIST, fit NR on its logits, attack test digits with the defense-aware PGD, and record the
clean logits, NR's accuracy under attack and the wall time. The summary compares every configuration with the
first: the largest logit difference and the accuracy difference in points, beside the binomial noise of that
accuracy, and what determinism costs in time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

# oneDNN off stands in for "another machine": other CPU kernels for the same ops (only one CPU type is at hand).
CONFIGS = ({"threads": 2, "deterministic": False, "onednn": True},
           {"threads": 1, "deterministic": False, "onednn": True},
           {"threads": 2, "deterministic": False, "onednn": False},
           {"threads": 2, "deterministic": True, "onednn": True},
           {"threads": 1, "deterministic": True, "onednn": True})


def one_run(data_dir: str, train: int, test: int, eps: float, seed: int) -> Dict:
    """The measured pipeline, in this process (configured by the caller)."""
    import keras

    from keras_models.dnr import build_mnist_net, compile_dnr_net
    from replication.attacks import RejectPGD
    from replication.data import load, scale
    from replication.defenses import NR
    from replication.evaluation import accurate, outcome

    start = time.time()
    train_set, test_set = load("mnist", "train", data_dir), load("mnist", "test", data_dir)
    x, y = scale(train_set.images[:train], (0.0, 1.0)), train_set.labels[:train]
    keras.utils.set_random_seed(seed)
    model = compile_dnr_net(build_mnist_net(), 0.1)
    model.fit(x, y, batch_size=128, epochs=1, shuffle=True, verbose=0)
    svm_x, svm_y = scale(train_set.images[train:train + 1000], (0.0, 1.0)), train_set.labels[train:train + 1000]
    nr = NR(model, "logits", 1.0, 1e-2).fit(svm_x, svm_y)
    nr.set_threshold(svm_x[:500], 0.1)
    xt, yt = scale(test_set.images[:test], (0.0, 1.0)), test_set.labels[:test]
    logits = model.predict(xt, verbose=0)
    adv, _ = RejectPGD(nr, max_iter=20).attack(xt, yt, eps)
    correct = accurate(outcome(nr.scores(adv), yt), attacked=True)
    return {"logits": logits.tolist(), "accuracy": 100.0 * float(correct.mean()), "n": int(test),
            "seconds": time.time() - start}


def summarise(runs: List[Dict]) -> List[Dict]:
    """Each configuration against the first: logit and accuracy differences, binomial noise, time ratio."""
    from replication.evaluation import stats

    ref = runs[0]
    noise = stats.wilson(ref["accuracy"] / 100.0 * ref["n"], ref["n"]).half_width
    out = []
    for r in runs:
        out.append({"threads": r["threads"], "deterministic": r["deterministic"], "onednn": r.get("onednn", True),
                    "max_logit_difference": float(np.abs(np.asarray(r["logits"]) - np.asarray(ref["logits"])).max()),
                    "accuracy": r["accuracy"], "accuracy_difference": r["accuracy"] - ref["accuracy"],
                    "binomial_half_width": noise, "seconds": r["seconds"], "time_ratio": r["seconds"] / ref["seconds"]})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default="results/spread.json")
    ap.add_argument("--train", type=int, default=5000)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--eps", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one config, JSON to stdout
    args = ap.parse_args(argv)
    if args.one:
        config = json.loads(args.one)
        import os
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if config["onednn"] else "0"
        from replication.runs import runtime
        runtime.configure(config["threads"], config["deterministic"])
        result = one_run(args.data_dir, args.train, args.test, args.eps, args.seed)
        print("SPREAD " + json.dumps({**config, **result}))
        return 0
    runs = []
    for config in CONFIGS:
        cmd = [sys.executable, "-m", "replication.runs.spread", "--data-dir", args.data_dir, "--train", str(args.train),
               "--test", str(args.test), "--eps", str(args.eps), "--seed", str(args.seed), "--one", json.dumps(config)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs.append(json.loads(next(l for l in done.stdout.splitlines() if l.startswith("SPREAD "))[7:]))
        print(f"{config}: accuracy {runs[-1]['accuracy']:.1f}%, {runs[-1]['seconds']:.0f} s", flush=True)
    from replication.runs import runtime
    from replication.runs.results import write_json
    summary = {"machine": runtime.identity(), "settings": vars(args), "comparisons": summarise(runs)}
    write_json(Path(args.out), summary)
    for row in summary["comparisons"]:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
