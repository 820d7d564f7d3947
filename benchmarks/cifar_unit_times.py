"""The CIFAR-10 units of the DNR paper protocol that the ledger has never run, timed through the experiment's own code
on a given network (issue 20, section 2, item 5): run 0's defenses unit (the SVM parameter search, DNR's stacked
SVMs, NR, theta) and its attack units at the eps asked for, on the models asked for.

The units run in a scratch run folder, never the ledger's: the network is a file you name, typically the paper
training's checkpoint (a copy of `reports/dnr/paper/models/cifar10_dnn.keras.partial/model.keras`, taken between
epochs), whose weights are not the
finished network's, so the units' results mean nothing and only their CPU seconds are kept. The protocol is the
paper's with the eps grid cut to 0 and `--eps` (the attack units at other eps are not run) and without the restart
and the line-search check. Each unit's seconds go beside what `python -m replication status` estimated for it.
Every binary SVM fit inside the units (scikit-learn's `SVC.fit`: the parameter search's, the stacking folds', the
final SVMs') is logged as it ends to `<out>.fits.jsonl` (training size, dimension, C, gamma, support vectors, its
CPU seconds and the process's so far), so that a run cut before its units end still says what their parts cost.
With `--sizes`, instead: how one binary SVM fit (class 0 against the rest, `--params` C gamma) grows with the
training size on run 0's SVM training features at each of the protocol's layers, to scale a partial trace.

    python benchmarks/cifar_unit_times.py --network PATH --data-dir ../shared/data --threads 1 \
        --out results/cifar_unit_times.json
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path


@contextlib.contextmanager
def traced_fits(path: Path):
    """Log every `sklearn.svm.SVC.fit` in this process, as it ends, to `path` (JSON lines)."""
    from sklearn.svm import SVC
    fit = SVC.fit

    def logged(self, X, y, sample_weight=None):
        start, cpu = time.time(), time.process_time()
        out = fit(self, X, y, sample_weight)
        row = {"n": int(X.shape[0]), "d": int(X.shape[1]), "C": float(self.C), "gamma": float(self._gamma),
               "support_vectors": int(self.support_.shape[0]), "cpu_seconds": time.process_time() - cpu,
               "seconds": time.time() - start, "process_cpu_seconds": time.process_time()}
        with open(path, "a") as log:
            log.write(json.dumps(row) + "\n")
        return out
    SVC.fit = logged
    try:
        yield
    finally:
        SVC.fit = fit


def size_scaling(model, p, pool, sizes, C: float, gamma: float, fits: Path) -> dict:
    """CPU seconds of one binary RBF SVM fit per layer and training size (the first `n` SVM training images)."""
    import numpy as np
    from sklearn.base import clone

    from replication.data import draws
    from replication.defenses import DNR, rbf_ovr
    draw = draws.run_draw(pool, p, 0, 0)
    dnr = DNR(model, list(p.feature_layers), [(1.0, 1.0)] * len(p.feature_layers), (1.0, 1.0))
    feats = dnr.features(draws.pixels(pool.images[draw["svm_train"]]))
    y = (pool.labels[draw["svm_train"]] == 0).astype(np.int64)
    out = {}
    with traced_fits(fits):
        for layer, x in zip(p.feature_layers, feats):
            out[layer] = {"dimension": int(x.shape[1])}
            for n in sizes:
                cpu = time.process_time()
                svm = clone(rbf_ovr(C, gamma).estimator).fit(x[:n], y[:n])  # one of the package's SVMs
                out[layer][str(n)] = {"cpu_seconds": time.process_time() - cpu,
                                      "support_vectors": int(svm.support_.shape[0])}
                print(f"{layer} (d {x.shape[1]}), n {n}: {out[layer][str(n)]['cpu_seconds']:.1f} CPU s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", required=True, help="a CIFAR-10 network of the paper's architecture (.keras)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eps", type=float, default=0.2, help="the attack units' eps (one of the paper's grid)")
    ap.add_argument("--models", nargs="+", default=["dnr"], choices=["dnn", "nr", "dnr"])
    ap.add_argument("--protocol", default="paper", help="smoke: a quick check of this script")
    ap.add_argument("--sizes", nargs="+", type=int, default=None, help="time one SVM fit at these sizes instead")
    ap.add_argument("--params", nargs=2, type=float, default=(0.1, 0.01), metavar=("C", "GAMMA"))
    ap.add_argument("--out", default="results/cifar_unit_times.json")
    args = ap.parse_args()

    from replication.runs import runtime
    runtime.configure(args.threads)
    from replication.data import draws
    from replication.dnr import experiment
    from replication.runs import ledger, protocols, stages
    from replication.runs.results import unit_file

    paper = protocols.dnr(args.protocol)
    if not args.sizes and (args.eps not in paper.cifar10.eps_grid or args.eps == 0):
        raise SystemExit(f"--eps must be a non-zero eps of the protocol's CIFAR-10 grid {paper.cifar10.eps_grid}")
    p = dataclasses.replace(paper.cifar10, eps_grid=(0.0, args.eps), double_init=False, line_search_check=())
    protocol = dataclasses.replace(paper, cifar10=p)
    pool = draws.load_pool(p, args.data_dir, 0)
    reports = Path(__file__).resolve().parents[1] / "reports"  # the ledger's status estimates, to compare
    estimated = {u.name: u.seconds for u in ledger.status("dnr", "", reports).units} if args.protocol == "paper" else {}
    scratch = Path(tempfile.mkdtemp(prefix="cifar_unit_times_"))
    try:
        store = experiment.open_store(protocol, scratch, {p.name: pool}, 0, fork=False)
        shutil.copyfile(args.network, store.path(stages.network_file(p.name)))
        model = stages.train_network(store, p, pool, 0)  # loads the file: nothing is trained
        fits = Path(args.out).with_suffix(".fits.jsonl")
        fits.parent.mkdir(parents=True, exist_ok=True)
        fits.unlink(missing_ok=True)
        if args.sizes:
            scaling = size_scaling(model, p, pool, args.sizes, *args.params, fits)
            Path(args.out).write_text(json.dumps({"machine": runtime.identity(), "threads": args.threads,
                                                  "network": args.network, "C": args.params[0],
                                                  "gamma": args.params[1], "sizes": scaling}, indent=2))
            return
        with traced_fits(fits):
            experiment.run_units(store, p, protocol, model, pool, 0, 0, attacked=tuple(args.models))
        names = ["cifar10/run0/defenses"] + [f"cifar10/run0/{m}/eps{args.eps:g}" for m in args.models]
        units = {}
        for name in names:
            record = json.loads(unit_file(store.root, name).read_text())
            units[name] = {"cpu_seconds": record["cpu_seconds"], "seconds": record["seconds"],
                           "status_estimate": estimated.get(name)}
            if "/eps" in name:
                units[name]["iterations"] = record["result"]["iterations"]
            print(f"{name}: {record['cpu_seconds']:.0f} CPU s ({record['seconds']:.0f} s wall); status estimated "
                  f"{estimated.get(name) or float('nan'):.0f} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = {"machine": runtime.identity(), "threads": args.threads, "network": args.network, "units": units}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
