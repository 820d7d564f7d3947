"""Markdown report of the DNR run: curves, per-eps table, clean accuracy, parameters, and the paper's claims."""
from __future__ import annotations

import json
import math
from typing import Dict, List, Tuple

from replication import published
from replication.report import TOLERANCE_RULE, tolerance


def reject_rate_tolerance(n_test: int) -> float:
    """Allowed distance (points) from the 10% clean reject rate: the tolerance rule's 2 points, widened to two
    binomial standard errors of a rate measured on `n_test` samples (40 samples alone give +-9.5 points)."""
    rate = published.DNR_CLEAN_REJECT_RATE.value / 100.0
    return max(tolerance(published.DNR_CLEAN_REJECT_RATE), 200.0 * math.sqrt(rate * (1 - rate) / max(n_test, 1)))


def claims(name: str, agg: Dict, n_test: int) -> List[Tuple[str, str, str]]:
    """(claim, measured, verdict) for each checkable claim of the paper on one dataset (`n_test` clean test
    samples over all runs)."""
    eps = agg["eps"]
    acc = {m: agg[m]["accuracy"]["mean"] for m in ("dnn", "nr", "dnr")}
    out = []
    allowed = reject_rate_tolerance(n_test)
    for m in ("nr", "dnr"):
        rej = agg[m]["rejection"]["mean"][0]
        ok = abs(rej - published.DNR_CLEAN_REJECT_RATE.value) <= allowed
        out.append((f"{m.upper()} rejects about 10% of clean samples (theta set on held-out data; rule: within "
                    f"{allowed:.1f} points, 2 binomial std errors on {n_test} samples or 2 points)",
                    f"{rej:.1f}% of clean test samples", "holds" if ok else "fails"))
    if len(eps) > 2:
        small = eps[2]
        out.append((f"the undefended DNN falls to about 0 accuracy at small eps (rule: <= 10% at eps {small:g})",
                    f"{acc['dnn'][2]:.1f}%", "holds" if acc["dnn"][2] <= 10 else "fails"))
    gaps = [acc["dnr"][i] - acc["nr"][i] for i in range(1, len(eps))]
    worst = min(gaps) if gaps else 0.0
    out.append(("DNR accuracy >= NR accuracy across eps (rule: never more than 2 points below)",
                f"DNR - NR from {worst:+.1f} to {max(gaps or [0]):+.1f} points", "holds" if worst >= -2 else "fails"))
    last = {m: acc[m][-1] for m in acc}
    out.append((f"every model's accuracy decays to about 0 at the largest eps {eps[-1]:g} (rule: <= 5%)",
                ", ".join(f"{m.upper()} {v:.1f}%" for m, v in last.items()),
                "holds" if max(last.values()) <= 5 else "fails"))
    return out


def _restart_section(agg: Dict) -> List[str]:
    """Accuracy under the paper's attack beside accuracy once secml's double-initialisation restart is added."""
    if "double_init" not in agg:
        return []
    d = agg["double_init"]
    lines = ["", "Attack-strength check (beyond the paper): the same PGD restarted, as the authors' library secml "
             "does, from the reference point (validation set) most confidently outside the true class, projected "
             "into the ball, on the samples the first run did not evade. Accuracy %, paper's attack -> with the "
             "restart:", "",
             "| eps | DNN | NR | DNR |", "|---|---|---|---|"]
    for i, e in enumerate(agg["eps"][1:], 1):
        cells = [f"{agg[m]['accuracy']['mean'][i]:.1f} -> {d[m]['accuracy']['mean'][i]:.1f}" for m in ("dnn", "nr", "dnr")]
        lines.append(f"| {e:g} | " + " | ".join(cells) + " |")
    flagged = agg.get("double_init_sanity", [])
    lines += ["", "With the restart the sanity criterion " + ("still flags: " + "; ".join(flagged) if flagged else
              "passes: the accuracy left at the largest eps under the paper's attack was the attack's local minima, "
              "not robustness." if agg["sanity"] else "passes.")]
    return lines


def _dataset_section(name: str, ds: Dict, p: Dict) -> List[str]:
    agg = ds["aggregate"]
    lines = [f"## {name}", "",
             f"Network `{ds['network']}` ({ds['network_params']:,} parameters), trained on {p['dnn_train']:,} images for "
             f"{p['epochs']} epochs (paper: {'50' if name == 'mnist' else '75'}). SVM features from Keras layers "
             f"`{'`, `'.join(ds['feature_layers'])}` (NR: `{ds['feature_layers'][-1]}`). {p['runs']} run(s) of "
             f"{p['svm_train']:,} SVM-training / {p['validation']:,} validation (theta) / {p['test']:,} test samples "
             f"from outside the network's training set. PGD: eta {p['pgd_eta']}, {p['pgd_doublings']} doublings, "
             f"at most {p['pgd_max_iter']} iterations, stop at |dOmega| <= {p['pgd_tol']}.", ""]
    if agg["sanity"]:
        lines += ["> **EVALUATION FLAGGED AS UNRELIABLE** (the paper's own criterion; the attack, not the defense, "
                  "is the suspect):", ""] + [f"> - {s}" for s in agg["sanity"]] + [""]
    else:
        lines += ["Evaluation sanity (accuracy ~0 at the largest eps, non-increasing with eps): passed.", ""]
    lines += ["| eps | DNN acc | NR acc | NR reject | DNR acc | DNR reject |", "|---|---|---|---|---|---|"]
    for i, e in enumerate(agg["eps"]):
        cell = lambda m, k: f"{agg[m][k]['mean'][i]:.1f} ({agg[m][k]['std'][i]:.1f})"  # noqa: E731
        lines.append(f"| {e:g} | {cell('dnn', 'accuracy')} | {cell('nr', 'accuracy')} | {cell('nr', 'rejection')} "
                     f"| {cell('dnr', 'accuracy')} | {cell('dnr', 'rejection')} |")
    lines += ["", "Mean (std over runs), %. At eps = 0 rejects count as errors; at eps > 0 a reject counts as correct.", ""]
    lines += ["Checkable claims:", "", "| claim | measured | verdict |", "|---|---|---|"]
    lines += [f"| {c} | {m} | {v} |" for c, m, v in claims(name, agg, p["test"] * p["runs"])]
    lines += _restart_section(agg)
    lines += ["", "SVM parameters and thresholds per run:", ""]
    for r, run in enumerate(ds["runs"]):
        d, eq = run["defenses"], run["equality"]
        lines.append(f"- run {r}: (C, gamma) {d['params']['source']}: layers {d['params']['layers']}, combiner "
                     f"{d['params']['combiner']}, NR {d['params']['nr']}; theta NR {d['theta']['nr']:.4f}, DNR "
                     f"{d['theta']['dnr']:.4f}; TF vs scikit-learn max relative difference NR "
                     f"{eq['nr']['max_rel_diff']:.1e}, DNR {eq['dnr']['max_rel_diff']:.1e} (same predictions: "
                     f"{eq['nr']['same_predictions'] and eq['dnr']['same_predictions']})")
    return lines + [""]


def render(r: Dict) -> str:
    p = r["protocol"]
    lines = ["# Deep Neural Rejection (Sotgiu et al. 2020): replication report", ""]
    if p["level"] != "paper":
        lines += [f"> **Protocol `{p['level']}`**: the paper's method with reduced counts (epochs, samples, runs, "
                  "attack iterations; the authors' published (C, gamma) instead of a CV search); numbers are not those "
                  "of the published protocol `paper`.", ""]
    lines += [f"- protocol: `{p['level']}`; seed {r['seed']}; device: {r['device']}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
              f"- theta rejects {100 * p['reject_rate']:.0f}% of clean validation samples; stacking: "
              f"{p['stacking_folds']}-fold", "",
              "Fig. 3 of the paper has no numbers in its text: the comparison is with its checkable claims "
              "(verdicts below). " + TOLERANCE_RULE, ""]
    for name, ds in r["datasets"].items():
        lines += _dataset_section(name, ds, p[name])
    f = r["figures"]
    lines += ["## Figures", "", f"![security evaluation curves]({f['curves']})", "",
              "Fig. 3: accuracy (solid) and rejection rate (dashed) against eps; dotted: accuracy with the double-"
              "initialisation restart.", "",
              f"![threshold trade-off]({f['tradeoff']})", "",
              "Fig. 4: accuracy under attack against the false-reject rate on clean samples as theta varies (run 0); "
              "dashed line: the 10% operating point.", "", f"![gallery]({f['gallery']})", "",
              "Fig. 5/6: source, magnified perturbation and adversarial example per model.", "",
              "## Wall time", "",
              ", ".join(f"{n}: {ds['seconds_this_invocation']:.0f} s" for n, ds in r["datasets"].items())
              + f" (this invocation; {len(r['resumed_units'])} units resumed from earlier runs)", "",
              "## Protocol (verbatim)", "", "```", json.dumps(p, indent=2), "```", ""]
    return "\n".join(lines)
