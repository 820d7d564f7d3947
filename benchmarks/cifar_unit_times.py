"""The CIFAR-10 units of the DNR paper protocol that the ledger has never run, timed through the experiment's own code
on a given network (issue 20, section 2, item 5): run 0's defenses unit (the SVM parameter search, DNR's stacked
SVMs, NR, theta) and its attack units at the eps asked for, on the models asked for.

The units run in a scratch run folder, never the ledger's: the network is a file you name, typically the paper
training's checkpoint (`reports/dnr/paper/models/cifar10_dnn.keras.partial/model.keras`), whose weights are not the
finished network's, so the units' results mean nothing and only their CPU seconds are kept. The protocol is the
paper's with the eps grid cut to 0 and `--eps` (the attack units at other eps are not run) and without the restart
and the line-search check. Each unit's seconds go beside what `python -m replication status` estimated for it.

    python benchmarks/cifar_unit_times.py --network PATH --data-dir ../shared/data --threads 1 \
        --out results/cifar_unit_times.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", required=True, help="a CIFAR-10 network of the paper's architecture (.keras)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eps", type=float, default=0.2, help="the attack units' eps (one of the paper's grid)")
    ap.add_argument("--models", nargs="+", default=["dnr"], choices=["dnn", "nr", "dnr"])
    ap.add_argument("--protocol", default="paper", help="smoke: a quick check of this script")
    ap.add_argument("--out", default="results/cifar_unit_times.json")
    args = ap.parse_args()

    from replication.runs import runtime
    runtime.configure(args.threads)
    from replication.data import draws
    from replication.dnr import experiment
    from replication.runs import ledger, protocols, stages
    from replication.runs.results import unit_file

    paper = protocols.dnr(args.protocol)
    if args.eps not in paper.cifar10.eps_grid or args.eps == 0:
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
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
