"""Markdown report of the DNR run: curves, per-eps table, clean accuracy, parameters, and the paper's claims."""
from __future__ import annotations

import json
from typing import Dict, List

from replication.dnr import claims, figures, records, sign_report
from replication.dnr.records import DatasetResult
from replication.evaluation import stats
from replication.reporting import deviations
from replication.reporting.report import scope_lines
from replication.runs import protocols


def claim_lines(name: str, ds: DatasetResult) -> List[str]:
    """The paper's checkable claims, each with its rule, measured interval, verdict and (if undecided) the N that
    would decide it."""
    lines = ["Checkable claims (per-sample intervals; verdicts: supported / contradicted / inconclusive at this "
             "sample size):", "", "| claim | rule | measured [95% interval] | verdict | N to decide |",
             "|---|---|---|---|---|"]
    for c in claims.judge(name, ds):
        lines.append(f"| {c.claim} | {c.rule} | {c.measured} | **{c.verdict}** | {c.need} |")
    d = claims.dnr_minus_nr(ds)
    lines += ["", "DNR - NR accuracy per eps (paired per test sample: the bootstrap within runs, widened to the "
              "t-interval over runs where wider; points): " +
              ", ".join(f"eps {e:g}: {iv.text(1)}" for e, iv in zip(ds.aggregate.eps[1:], d["per_eps"])), ""]
    if len(d["per_run"]) > 1:
        lines += ["DNR - NR averaged over eps > 0, per run (paired bootstrap within the run; runs differ in their SVM "
                  "draw and cross-validated (C, gamma)): " +
                  ", ".join(f"run {r}: {iv.text(1)}" for r, iv in enumerate(d["per_run"])), ""]
    return lines


def line_search_lines(ds: DatasetResult) -> List[str]:
    """The paper's step search (Algorithm 1) against secml's, which may also shrink the step, on run 0."""
    rows = claims.line_search(ds)
    if not rows:
        return []
    lines = ["Line search (the paper's Algorithm 1 tries eta x 2^k, k = 0..10; the authors' library secml can also "
             "shrink the step: here eta x 2^k, k = -10..10, best kept), same samples, run 0. Accuracy %:", "",
             "| model | eps | Algorithm 1 | secml's steps | secml - Algorithm 1 (paired) | seconds (secml) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model'].upper()} | {row['eps']:g} | {row['paper'].text(1)} | {row['secml'].text(1)} "
                     f"| {row['secml_minus_paper'].text(1)} | {row['seconds']:.0f} |")
    return lines + [""]


def _restart_section(ds: DatasetResult) -> List[str]:
    """Accuracy under the paper's attack beside accuracy once secml's double-initialisation restart is added."""
    agg = ds.aggregate
    if not claims.restart_complete(ds):
        return []
    first = {m: claims.accuracy_intervals(ds, m) for m in claims.MODELS}
    again = {m: claims.accuracy_intervals(ds, m, restart=True) for m in claims.MODELS}
    lines = ["", "Attack-strength check (beyond the paper): the same PGD restarted, as the authors' library secml "
             "does, from the reference point (validation set) most confidently outside the true class, projected "
             "into the ball, on the samples the first run did not evade. Accuracy % [95% interval], paper's attack "
             "-> with the restart:", "",
             "| eps | DNN | NR | DNR |", "|---|---|---|---|"]
    for i, e in enumerate(agg.eps[1:], 1):
        cells = [f"{first[m][i].text(1)} -> {again[m][i].text(1)}" for m in claims.MODELS]
        lines.append(f"| {e:g} | " + " | ".join(cells) + " |")
    flagged = agg.double_init_sanity or []
    lines += ["", "With the restart the sanity criterion " + ("still flags: " + "; ".join(flagged) if flagged else
              "passes: the accuracy left at the largest eps under the paper's attack was the attack's local minima, "
              "not robustness." if agg.sanity else "passes.")]
    return lines


def runs_text(computed: int, protocol: int) -> str:
    """'5 run(s)', or '2 of 5 run(s)' in a partial run."""
    return f"{protocol} run(s)" if computed >= protocol else f"{computed} of {protocol} run(s)"


def network_accuracy(net: Dict) -> str:
    """A network's clean accuracy, '% [95% Wilson interval] on the N official test images'."""
    return f"{stats.wilson(net['correct'], net['n']).text(2)}% on the N = {net['n']:,} official test images"


def network_section(name: str, net: Dict, p: Dict) -> List[str]:
    """A dataset run at 0 runs: its network alone."""
    return [f"## {name}: the network alone", "",
            f"Network `{net['network']}` ({net['network_params']:,} parameters), trained on {p['dnn_train']:,} images "
            f"for {p['epochs']} epochs (paper: {getattr(protocols.dnr('paper'), name).epochs}); no run yet (`--runs` "
            "0): no SVM, no attack.", "",
            f"Clean accuracy: {network_accuracy(net)} (95% Wilson interval; none was in its training set). "
            "The paper gives no number to set beside it (Fig. 3 plots its eps = 0 point without values): not "
            "judged.", ""]


def _dataset_section(name: str, ds: DatasetResult, p: Dict) -> List[str]:
    agg = ds.aggregate
    lines = [f"## {name}", "",
             f"Network `{ds.network}` ({ds.network_params:,} parameters), trained on {p['dnn_train']:,} "
             "images for "
             f"{p['epochs']} epochs (paper: {getattr(protocols.dnr('paper'), name).epochs}). SVM features from Keras "
             f"layers `{'`, `'.join(ds.feature_layers)}` (NR: `{ds.feature_layers[-1]}`). "
             f"{runs_text(len(ds.runs), p['runs'])} of "
             f"{p['svm_train']:,} SVM-training / {p['validation']:,} validation (theta) / {p['test']:,} test samples "
             f"from outside the network's training set. PGD: eta {p['pgd_eta']}, {p['pgd_doublings']} doublings, "
             f"at most {p['pgd_max_iter']} iterations, stop at |dOmega| <= {p['pgd_tol']}.", ""]
    if agg.sanity:
        lines += ["> **EVALUATION FLAGGED** by the paper's own criterion on the mean curves (the attack, not the "
                  "defense, is the suspect; the claims table judges it with its interval):", ""]
        lines += [f"> - {s}" for s in agg.sanity] + [""]
    else:
        lines += ["Evaluation sanity on the mean curves (accuracy ~0 at the largest eps, non-increasing with eps): "
                  "no flag (the claims table judges it with its interval).", ""]
    acc = {m: claims.accuracy_intervals(ds, m) for m in claims.MODELS}
    rej = {m: [claims.rejection_interval(ds, m, i) for i in range(len(agg.eps))] for m in ("nr", "dnr")}
    n = acc["dnn"][0].n
    lines += ["| eps | DNN acc | NR acc | NR reject | DNR acc | DNR reject |", "|---|---|---|---|---|---|"]
    for i, e in enumerate(agg.eps):
        lines.append(f"| {e:g} | {acc['dnn'][i].text(1)} | {acc['nr'][i].text(1)} | {rej['nr'][i].text(1)} "
                     f"| {acc['dnr'][i].text(1)} | {rej['dnr'][i].text(1)} |")
    lines += ["", f"%, mean over runs [95% interval; N = {n} test samples over {len(ds.runs)} run(s)]. At eps = 0 "
              "rejects count as errors; at eps > 0 a reject counts as correct.", ""]
    lines += claim_lines(name, ds)
    lines += _restart_section(ds)
    lines += [""] + line_search_lines(ds)
    lines += ["", "SVM parameters and thresholds per run:", ""]
    for r, run in enumerate(ds.runs):
        d, eq = run.defenses, run.equality
        lines.append(f"- run {r}: (C, gamma) {d['params']['source']}: layers {d['params']['layers']}, combiner "
                     f"{d['params']['combiner']}, NR {d['params']['nr']}; theta NR {d['theta']['nr']:.4f}, DNR "
                     f"{d['theta']['dnr']:.4f}; TF vs scikit-learn max relative difference NR "
                     f"{eq['nr']['max_rel_diff']:.1e}, DNR {eq['dnr']['max_rel_diff']:.1e} (same predictions: "
                     f"{eq['nr']['same_predictions'] and eq['dnr']['same_predictions']})")
    return lines + [""]


def sign_section(r: Dict) -> List[str]:
    """What moves the sign of DNR - NR: the sign study of the same protocol (`replication.dnr.sign`), when run."""
    lines = ["## What moves the sign of DNR - NR", ""]
    if not r.get("sign_study"):
        return lines + [f"The sign study of this protocol has not run: `python -m replication dnr-sign --protocol "
                        f"{r['protocol']['level']}` (its folder sits beside this run's, under `dnr-sign/`).", ""]
    return lines + sign_report.section(r["sign_study"])


def deviation_items(r: Dict) -> List[str]:
    """Protocol fields that differ from `paper`, and the layer choice against the authors' public code."""
    p = r["protocol"]
    items = deviations.protocol_items(protocols.dnr("paper").to_dict(), p, deviations.DNR_METHOD_FIELDS)
    for name, layers in protocols.AUTHORS_CODE_LAYERS.items():
        used = p[name]["feature_layers"]
        if list(used) != list(layers):
            items.append(f"note: `{name}` SVMs read `{', '.join(used)}` (the paper's \"last three layers\"); the "
                         "authors' public secml scripts feed hidden ReLU layers only "
                         f"(here: `{', '.join(layers)}`) and "
                         "NR the last hidden one; `--layers authors` runs theirs")
    return items


def render(r: Dict) -> str:
    p = r["protocol"]
    lines = ["# Deep Neural Rejection (Sotgiu et al. 2020): replication report", ""] + scope_lines(r)
    if p["level"] != "paper":
        lines += [f"> **Protocol `{p['level']}`**: not the published protocol `paper`; every difference is listed "
                  "under \"Deviations from the paper\".", ""]
    lines += [f"- protocol: `{p['level']}`; seed {r['seed']}; device: {r['device']}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
              f"- theta rejects {100 * p['reject_rate']:.0f}% of clean validation samples; stacking: "
              f"{p['stacking_folds']}-fold", "",
              "Fig. 3 of the paper has no numbers in its text: the comparison is with its checkable claims, each "
              "judged on per-sample outcomes with a 95% interval (Wilson for rates, widened to the t-interval over "
              "runs when wider; for DNR - NR the paired bootstrap over the same samples, widened the same way). "
              "A claim is **supported** when the whole interval satisfies its rule, **contradicted** when none of it "
              "does, **inconclusive** otherwise, with the sample size that would decide it.", ""]
    datasets = records.datasets(r)
    for name, ds in datasets.items():
        lines += _dataset_section(name, ds, p[name])
    for name, net in r.get("networks", {}).items():
        lines += network_section(name, net, p[name])
    if "mnist" in datasets:
        lines += sign_section(r)
    lines += deviations.section(deviation_items(r), p["level"])
    lines += ["## Figures", ""] + [line for fig in figures.FIGURES.values() for line in fig.markdown(r["figures"])]
    lines += ["## Wall time", "",
              ", ".join(f"{n}: {ds.seconds_this_invocation:.0f} s" for n, ds in datasets.items())
              + f" (this invocation; {len(r['resumed_units'])} units resumed from earlier runs)", "",
              "## Protocol (verbatim)", "", "```", json.dumps(p, indent=2), "```", ""]
    return "\n".join(lines)
