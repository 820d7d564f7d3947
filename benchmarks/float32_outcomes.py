"""The float32 search against the float64 search on one `fast` DNR MNIST run (issue 22, section 1), paired.

The run's network and NR/DNR come from the `fast` run folder (trained there if absent; `make replicate-dnr
PROTOCOL=fast` then reuses them), and so do the float64 attacks: they are that run's own units. The float32 search
attacks the same test digits with the same PGD; every outcome is read from the float64 scorer. Per model and eps:
accuracy under each search, their paired difference, the time of each; and DNR - NR under each.

    python benchmarks/float32_outcomes.py --data-dir ../shared/data --out results/float32_fast.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--run", default="results/dnr/fast", help="the fast DNR run folder (resumed, or started)")
    ap.add_argument("--out", default="results/float32_fast.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from replication.runs import runtime
    runtime.configure(args.threads)
    from replication.data import draws
    from replication.defenses import evaded, scores_of
    from replication.dnr import experiment
    from replication.evaluation import EVADED, stats
    from replication.runs import protocols, stages

    protocol = protocols.dnr("fast")
    p = protocol.mnist
    pools = experiment.load_pools(protocol, args.data_dir, args.seed)
    pool = pools["mnist"]
    store = experiment.open_store(protocol, Path(args.run), pools, args.seed, fork=False)
    model = stages.train_network(store, p, pool, args.seed)
    draw = draws.run_draw(pool, p, 0, args.seed)
    _, models = stages.defenses_of(store, p, protocol, model, pool, draw, 0, args.seed)
    defenses = dict(zip(("nr", "dnr"), models()))
    x, y = draws.pixels(pool.images[draw["test"]]), pool.labels[draw["test"]]

    rows, evaded_by = [], {}
    for name, defense in defenses.items():
        curve = experiment.attack_sweep(store, p, 0, name, defenses.__getitem__, x, y)  # the run's float64 units
        search = experiment.pgd(p, defense, precision="float32")
        for point in curve[1:]:
            start = time.time()
            adversarial, _ = search.attack(x, y, point.eps)
            seconds = time.time() - start
            e64, e32 = point.outcome == EVADED, evaded(scores_of(defense.scorer, adversarial), y)
            evaded_by[(name, point.eps)] = {"float64": e64, "float32": e32}
            rows.append({"model": name, "eps": point.eps, "n": int(len(y)),
                         "accuracy_float64": stats.wilson(int((~e64).sum()), len(y)).__dict__,
                         "accuracy_float32": stats.wilson(int((~e32).sum()), len(y)).__dict__,
                         "float32_minus_float64": stats.bootstrap_mean(e64.astype(float) - e32).__dict__,
                         "seconds_float64": point.seconds, "seconds_float32": seconds})
            print(f"{name} eps {point.eps:g}: accuracy float64 {100 * (1 - e64.mean()):.1f}, float32 "
                  f"{100 * (1 - e32.mean()):.1f}; {point.seconds:.0f} s vs {seconds:.0f} s", flush=True)
    eps = sorted({e for _, e in evaded_by})
    gap = {precision: stats.bootstrap_mean(np.stack([evaded_by[("nr", e)][precision].astype(float) -
                                                     evaded_by[("dnr", e)][precision] for e in eps], 1)).__dict__
           for precision in ("float64", "float32")}
    out = {"protocol": "fast", "run": str(args.run), "threads": args.threads, "rows": rows,
           "dnr_minus_nr": gap, "machine": runtime.identity()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, default=float))
    print(f"DNR - NR (mean over eps > 0, points): float64 {gap['float64']['estimate']:.1f} "
          f"[{gap['float64']['low']:.1f}, {gap['float64']['high']:.1f}], float32 {gap['float32']['estimate']:.1f} "
          f"[{gap['float32']['low']:.1f}, {gap['float32']['high']:.1f}]")


if __name__ == "__main__":
    main()
