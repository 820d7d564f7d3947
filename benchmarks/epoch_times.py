"""One training epoch of each paper-count network the ledger has never trained here, timed (issue 20, section 2):
a fold of the background paper's letter selection (the Table II net, 47 classes, 9/10 of EMNIST Balanced train, or
offline of the class-balanced pool the protocol falls back to; 20 epochs a fold) and the DNR paper's CIFAR-10
network (40,000 images, 75 epochs); the DNR MNIST network (50 epochs, timed whole before) as the yardstick between
machines. Run it on a quiet machine:

    python benchmarks/epoch_times.py --data-dir ../shared/data --threads 1 --out results/epoch_times.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def timed_epoch(model, x, y, batch_size: int) -> float:
    from replication.runs.stages import fit_one_epoch
    start = time.time()
    fit_one_epoch(model, x, y, batch_size)
    return time.time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="results/epoch_times.json")
    args = ap.parse_args()

    from replication.runs import runtime
    runtime.configure(args.threads)
    import numpy as np

    from keras_models.background import build_background_net, compile_background_net
    from keras_models.dnr import build_cifar_net, build_mnist_net, compile_dnr_net
    from replication.background import assembly, letters
    from replication.background.training import to_input
    from replication.data import draws
    from replication.runs import protocols

    out = {"machine": runtime.identity(), "threads": args.threads}
    background = protocols.background("paper")
    pool = assembly.load_pool(background.pool_split, args.data_dir, background.pool_limit, 0)
    images, labels, origin = assembly.selection_data(pool, background.selection_per_class, args.data_dir, 0)
    _, train, _ = next(letters.fold_units(labels, background.selection_folds, 1, 0))
    model = compile_background_net(build_background_net(letters.N_CLASSES))
    seconds = timed_epoch(model, to_input(images[train]), labels[train], background.batch_size)
    out["letters_fold"] = {"images": int(len(train)), "data": origin, "epoch_seconds": seconds,
                           "epochs": background.selection_epochs}
    for name, build in (("mnist", build_mnist_net), ("cifar10", build_cifar_net)):
        p = getattr(protocols.dnr("paper"), name)
        pool = draws.load_pool(p, args.data_dir, 0)
        x, y = draws.pixels(pool.images[pool.dnn_idx]), pool.labels[pool.dnn_idx]
        seconds = timed_epoch(compile_dnr_net(build(), p.learning_rate), x, np.asarray(y), p.batch_size)
        out[f"{name}_network"] = {"images": int(len(x)), "epoch_seconds": seconds, "epochs": p.epochs}
    for key, row in out.items():
        if isinstance(row, dict) and "epoch_seconds" in row:
            print(f"{key}: one epoch of {row['images']:,} images {row['epoch_seconds']:.0f} s; x {row['epochs']} "
                  f"epochs = {row['epoch_seconds'] * row['epochs'] / 3600:.2f} h")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
