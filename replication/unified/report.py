"""Markdown report of the unified experiment."""
from __future__ import annotations

import json
from typing import Dict, List, Optional

import numpy as np

from replication.evaluation import stats
from replication.reporting import deviations
from replication.runs import protocols
from replication.unified import claims, figures, records
from replication.unified.attacks import ATTACKS
from replication.unified.models import LABELS, MODELS
from replication.unified.records import AttackPoint, Axis

_PAPER_EPS = {"fgs": protocols.background("paper").fgs_eps, "fg": protocols.background("paper").fg_eps}
WEAK_VS_ADAPTIVE = tuple((weak, strong, _PAPER_EPS[weak]) for weak, strong in  # the background paper's eps per norm
                         (("fgs", "adaptive_linf"), ("fg", "adaptive_l2"), ("fgs", "reject_aware_linf"),
                          ("fg", "reject_aware_l2")))


def _at(curve: List[AttackPoint], eps: float) -> Optional[AttackPoint]:
    return next((pt for pt in curve if abs(pt.eps - eps) < 1e-9), None)


def collapse_rows(r: Dict) -> List[str]:
    """Detection of the background class under the paper's weak attack vs the adaptive one, at the paper's eps,
    paired per sample (see `claims.collapse`)."""
    rows, curves = [], records.curves(r)
    for weak, adaptive, eps in WEAK_VS_ADAPTIVE:
        w, a = _at(curves["background"][weak], eps), _at(curves["background"][adaptive], eps)
        if w is None or a is None:
            continue
        c = claims.collapse(w, a)
        rows.append(f"| {weak.upper()} vs {adaptive} | {eps:g} | {c['weak'].text(1)} | {c['adaptive'].text(1)} | "
                    f"{w.other_digit:.1f} | {a.other_digit:.1f} | {c['difference'].text(1)} | "
                    f"**{c['verdict']}** |")
    return rows


def style_lines(r: Dict) -> List[str]:
    """The control: is the background class an EMNIST-style detector?"""
    if "style_control" not in r:
        return []
    clean = records.axis(r).points["background"][0]
    s = claims.style(r["style_control"], stats.wilson(int(clean.detected_samples().sum()), len(clean.margin)))
    sep, fires, mnist = s["separability"], s["emnist_digits_detected"], s["mnist_digits_detected"]
    lines = ["### Control: does the background class learn EMNIST's style?", "",
             "The background class is trained on EMNIST letters beside MNIST digits, and EMNIST characters are framed "
             "differently from MNIST digits. Two measurements:", "",
             f"- a linear classifier (logistic regression on pixels) tells MNIST digits from EMNIST digits with "
             f"{sep.text(1)}% held-out accuracy (N={sep.n})" +
             ("; the style alone is learnable." if s["style_learnable"] else "."),
             f"- the background model calls {fires.text(1)}% of clean EMNIST *digits* (never trained on) background "
             f"(N={fires.n}), against {mnist.text(1)}% of clean MNIST test digits (N={mnist.n})" +
             ("; it fires on the style, so part of its detection of weak adversarials may be style, not shape."
              if s["fires_on_style"] else "; no more than on MNIST digits, so it does not fire on the style alone."),
             ""]
    return lines


def _rate(pt: AttackPoint, key: str) -> str:
    n = len(pt.pred)
    return stats.wilson(round(getattr(pt, key) * n / 100.0), n).text(1)


def _curve_table(curves: Dict[str, Dict[str, List[AttackPoint]]], attack: str) -> List[str]:
    n = len(curves["baseline"][attack][0].pred)
    lines = [f"**{attack}** ({ATTACKS[attack][0]}), % [95% Wilson interval], N = {n}", "",
             "| eps | baseline correct | baseline other digit | defense correct | defense other digit | "
             "defense background |", "|---|---|---|---|---|---|"]
    for b, d in zip(curves["baseline"][attack], curves["background"][attack]):
        lines.append(f"| {b.eps:g} | {_rate(b, 'correct')} | {_rate(b, 'other_digit')} | {_rate(d, 'correct')} | "
                     f"{_rate(d, 'other_digit')} | {_rate(d, 'detected')} |")
    return lines + [""]


def _fails_sentence(m: str, fails: Dict, top: float) -> str:
    b50, b10 = fails["below_50"], fails["below_10"]
    half = f"below 50% at eps {b50:g}" if b50 is not None else f"never below 50% up to eps {top:g}"
    ten = f"below 10% at eps {b10:g}" if b10 is not None else f"never below 10% up to eps {top:g}"
    return f"- {LABELS[m]}: accuracy under attack {half}, {ten}."


def _sanity_lines(axis: Axis) -> List[str]:
    """The DNR paper's criterion on this axis, with how the adaptive attack stopped at the largest eps."""
    if not axis.sanity:
        return ["Evaluation sanity (the DNR paper's criterion: accuracy ~0 at the largest eps, non-increasing): "
                "passed.", ""]
    lines = ["> **EVALUATION FLAGGED AS UNRELIABLE** under the paper's adaptive attack alone, for some models (the DNR "
             "paper's criterion; the attack, not the defense, is the suspect; see the worst case above):", ""]
    lines += [f"> - {s}" for s in axis.sanity]
    lines += ["", "How the adaptive attack stopped at the largest eps (% of all test samples):", ""]
    for m, d in axis.stops.items():
        if d:
            lines.append(f"- {LABELS[m]}: {d['iterations']} iterations; still improving at the iteration limit "
                         f"{100 * d['still_improving']:.0f}%, vanishing gradient {100 * d['flat_gradient']:.0f}%")
    return lines + [""]


def _restart_lines(axis: Axis) -> List[str]:
    """Accuracy under the adaptive attack beside accuracy once secml's double-initialisation restart is added."""
    if not axis.restart:
        return []
    lines = ["", "Attack-strength check: the adaptive attack restarted, as the DNR authors' library secml does, from "
             "the validation digit most confidently outside the true class (projected into the ball), on the samples "
             "the first run left unevaded; a sample counts as evaded when either run evades. Accuracy %, first run -> "
             "with the restart:", "", "| eps | " + " | ".join(LABELS[m] for m in MODELS) + " |",
             "|---" * (len(MODELS) + 1) + "|"]
    for i, e in enumerate(axis.eps[1:], 1):
        lines.append(f"| {e:g} | " + " | ".join(f"{axis.points[m][i].accuracy:.1f} -> "
                                                f"{axis.restart[m][i].accuracy:.1f}" for m in MODELS) + " |")
    flagged = axis.restart_sanity
    lines += ["", "With the restart, the sanity criterion " + ("still flags: " + "; ".join(flagged) if flagged
                                                             else "passes for every model.")]
    return lines


def _reject_aware_lines(axis: Axis) -> List[str]:
    """The models with a reject option under secml's reject-aware objective, and the worst case of all attacks."""
    if not axis.reject_aware:
        return []
    models = list(axis.reject_aware)
    lines = ["", "Reject-aware objective (secml's: while the point is rejected, lower the reject score instead of "
             "s_y), accuracy % (detected % in brackets), and the worst case of the three L2 attacks (the "
             "paper's, its restart, the reject-aware one): a sample counts as evaded as soon as any of them evades it:",
             "", "| eps | " + " | ".join(f"{LABELS[m]}: reject-aware | {LABELS[m]}: worst case" for m in models) + " |",
             "|---" * (2 * len(models) + 1) + "|"]
    for i, e in enumerate(axis.eps[1:], 1):
        cells = [f"{axis.reject_aware[m][i].accuracy:.1f} ({axis.reject_aware[m][i].detected:.1f}) | "
                 f"{axis.worst_case[m][i]:.1f}" for m in models]
        lines.append(f"| {e:g} | " + " | ".join(cells) + " |")
    flagged = axis.worst_case_sanity
    return lines + ["", "On the worst case of the three attacks, the sanity criterion " +
                    ("still flags: " + "; ".join(flagged) if flagged else "passes for every model.")]


def worst_case_lines(r: Dict) -> List[str]:
    """Worst-case accuracy per model and eps with Wilson intervals, and DNR - NR paired over the same samples."""
    y, axis = np.asarray(r["y"]), records.axis(r)
    acc = {m: claims.accuracy_intervals(axis, m, y) for m in MODELS}
    lines = ["", f"Worst case of the axis's attacks, accuracy % [95% Wilson interval], N = {len(y)} test digits:", "",
             "| eps | " + " | ".join(LABELS[m] for m in MODELS) + " |", "|---" * (len(MODELS) + 1) + "|"]
    for i, e in enumerate(axis.eps):
        lines.append(f"| {e:g} | " + " | ".join(acc[m][i].text(0) for m in MODELS) + " |")
    d = claims.dnr_minus_nr(axis, y)
    lines += ["", f"DNR - NR (worst case, paired bootstrap over the same digits), averaged over eps > 0: "
              f"{d['mean'].text(1)} points: DNR >= NR is **{d['verdict']}** on this axis (rule: interval above 0). "
              "Per eps: " + ", ".join(f"{e:g}: {iv.text(1)}" for e, iv in zip(axis.eps[1:], d["per_eps"]))]
    return lines


def deviation_items(r: Dict) -> List[str]:
    """This experiment is beyond both papers: its protocol differences from `paper` and its data choices."""
    items = deviations.protocol_items(protocols.unified("paper").to_dict(), r["protocol"],
                                       deviations.DNR_METHOD_FIELDS, ignore=("dnr.cifar10",))
    bg = r["setup"]["background"]
    items.insert(0, f"**data** (by design): MNIST digits for every model, and as the background class "
                    f"{bg['count']:,} EMNIST By Merge `{bg['partition']}` letters of the paper's kept set; the "
                    "background paper trains on EMNIST digits and letters alike (see the style control)")
    return items


def _near_10(curve: Dict) -> float:
    fr = np.asarray(curve["false_reject"])
    return float(np.asarray(curve["accuracy"])[np.argmin(np.abs(fr - 10.0))])


def render(r: Dict) -> str:
    p, s = r["protocol"], r["setup"]
    bg = s["background"]
    lines = ["# Beyond the papers: the background class under adaptive attack, and all defenses on one axis", ""]
    if bg.get("warning"):
        lines += [f"> **WARNING**: {bg['warning']}", ""]
    lines += [f"- protocol: `{p['level']}`" + ("" if p["level"] == "paper" else
                                                " (differences from `paper` listed under \"Deviations\")")
              + f"; seed {r['seed']}; device: {r['device']}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
              f"- data: every model trains on the same {s['digits']:,} MNIST digits ({s['mnist_source']}); the "
              f"background class is {bg['count']:,} EMNIST By Merge `{bg['partition']}` images of the paper's kept "
              f"letters `{bg['letters']}`; all models are attacked on the same {s['test']:,} MNIST test digits "
              "outside every training set. Pixels in [0, 1] (the Table II net sees x - 0.5, its [-0.5, 0.5] range; "
              "norms are unchanged).",
              "- why MNIST for all: NR and DNR are defined on the Carlini MNIST net; the background-class net trains "
              "on the same MNIST digits plus EMNIST letters. EMNIST characters are framed differently from MNIST "
              "digits, so the background class may learn that style as well as letter shapes: the control in part 1 "
              "measures it.",
              f"- attacks: FGS/FG (CleverHans, as in the paper); non-adaptive PGD (CleverHans, cross-entropy on the "
              f"full output with the true labels, {p['pgd_iter']} iterations of 2.5 eps / {p['pgd_iter']}); adaptive "
              f"PGD (the DNR paper's defense-aware, maximum-confidence attack: minimise s_y - max over j not in "
              f"{{reject, y}} of s_j, at most {p['dnr']['mnist']['pgd_max_iter']} iterations, step doubling), with the "
              "background logit as the reject score; the same PGD with secml's reject-aware objective (while the "
              "point is rejected, lower the reject score instead of s_y).", "",
              "## 1. The background class under adaptive attack", "",
              "Detection (classified as background) under the paper's weak attack and under the adaptive attack at "
              "the paper's eps, on the same test digits. Claim: detection collapses, i.e. the adaptive attack's "
              "detection is at most half the weak attack's; judged by the paired bootstrap interval of "
              "mean(adaptive detected - weak detected / 2): supported when it lies at or below 0, contradicted when "
              "above, inconclusive otherwise.", "",
              "| attacks | eps | weak: detected % | adaptive: detected % | weak: other digit % | "
              "adaptive: other digit % | adaptive - weak / 2 (paired) | collapse |",
              "|---|---|---|---|---|---|---|---|"]
    lines += collapse_rows(r) + [""] + style_lines(r)
    lines += figures.FIGURES["curves"].markdown(r["figures"])
    for attack in ATTACKS:
        lines += _curve_table(records.curves(r), attack)
    axis = records.axis(r)
    eps = axis.eps
    lines += ["## 2. One axis for all defenses (adaptive L2 PGD)", "",
              *figures.FIGURES["axis"].markdown(r["figures"]),
              "Accuracy under the paper's attack (%; at eps > 0 a detected sample counts as correct, at eps = 0 as "
              f"an error), detected % in brackets, N = {len(axis.points['dnr'][0].pred)} test digits "
              "(intervals: the worst-case table below):", "",
              "| eps | " + " | ".join(LABELS[m] for m in MODELS) + " |", "|---" * (len(MODELS) + 1) + "|"]
    for i, e in enumerate(eps):
        cells = []
        for m in MODELS:
            pt = axis.points[m][i]
            cells.append(f"{pt.accuracy:.1f}" + (f" ({pt.detected:.1f})" if m in ("background", "nr", "dnr") else ""))
        lines.append(f"| {e:g} | " + " | ".join(cells) + " |")
    lines += _restart_lines(axis) + _reject_aware_lines(axis)
    lines += worst_case_lines(r)
    lines += ["", "Where each defense fails (on the worst case of all L2 attacks run on the axis):", ""]
    lines += [_fails_sentence(m, axis.fails[m], eps[-1]) for m in MODELS]
    lines += [""] + _sanity_lines(axis)
    lines += ["", "## 3. Reject-threshold trade-off", "", *figures.FIGURES["tradeoff"].markdown(r["figures"]),
              "Accuracy under attack at the threshold whose clean false-reject rate is nearest 10% (dashed line in "
              "the figure: each model's own operating point, i.e. theta for NR/DNR, the argmax rule for the "
              "background class):", "", "| model | operating-point false rejects % | "
              + " | ".join(f"eps {k}" for k in next(iter(r["tradeoff"].values())) if k != "operating_point")
              + " |", "|---" * (2 + len(next(iter(r["tradeoff"].values()))) - 1) + "|"]
    for m, curves in r["tradeoff"].items():
        cells = [f"{_near_10(c):.1f}" for k, c in curves.items() if k != "operating_point"]
        lines.append(f"| {LABELS[m]} | {curves['operating_point']['false_reject']:.1f} | " + " | ".join(cells) + " |")
    lines += [""] + deviations.section(deviation_items(r), p["level"])
    lines += ["## Wall time", "", f"{r['wall_seconds_this_invocation']:.0f} s this invocation "
              f"({len(r['resumed_units'])} units loaded from disk rather than computed: finished by an earlier "
              "run, or shared between parts 1 and 2).", "",
              "## Protocol (verbatim)", "", "```", json.dumps(p, indent=2), "```", ""]
    return "\n".join(lines)
