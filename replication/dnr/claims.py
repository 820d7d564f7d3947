"""The DNR paper's checkable claims, judged per sample with intervals: supported / contradicted / inconclusive."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from replication.dnr.records import MODELS, DatasetResult, Run
from replication.evaluation import REJECTED, accurate, stats
from replication.evaluation.checks import NEAR_ZERO
from replication.evaluation.stats import Interval
from replication.reporting import published

# The paper does not say which eps "small" is; we take the eps of its own example figures (Fig. 5 and 6).
SMALL_EPS = published.DNR_EXAMPLE_EPS


@dataclass
class Claim:
    """One claim: what it says, the rule, the measured interval, the verdict and the N that would decide it."""

    claim: str
    rule: str
    measured: str
    verdict: str
    n_to_decide: Optional[int] = None
    width_from_repeats: bool = False

    @property
    def need(self) -> str:
        """What would decide an inconclusive claim ("" when it is decided)."""
        if self.verdict != "inconclusive":
            return ""
        if self.n_to_decide:
            return f"about {self.n_to_decide:,} samples"
        if self.width_from_repeats:
            return "more runs: the spread over runs sets the width"
        return "none: the estimate sits on the boundary"


def rejected(run: Run, model: str, i: int) -> np.ndarray:
    """Per sample of one run at eps index i: rejected (never for the undefended DNN)."""
    return run.curves[model][i].outcome == REJECTED


def correct(run: Run, model: str, i: int, restart: bool = False) -> np.ndarray:
    """Per-sample correctness of one run at eps index i (`evaluation.accurate`: at eps 0 a reject is an error, at
    eps > 0 a reject or the true class is correct, Section 4.1.4); with `restart`, not evaded by the paper's attack
    or its restart."""
    pt = run.curves[model][i]
    if restart and pt.eps > 0:
        return ~run.double_init[model][i].evaded
    return accurate(pt.outcome, pt.eps > 0)


def correct_matrix(ds: DatasetResult, model: str, restart: bool = False) -> Dict[str, np.ndarray]:
    """Per-sample correctness, (samples of all runs, eps), and each sample's run."""
    n_eps = len(ds.aggregate.eps)
    rows = [np.stack([correct(run, model, i, restart) for i in range(n_eps)], 1) for run in ds.runs]
    runs = [np.full(len(run.y), r) for r, run in enumerate(ds.runs)]
    return {"correct": np.concatenate(rows).astype(float), "run": np.concatenate(runs)}


def accuracy_intervals(ds: DatasetResult, model: str, restart: bool = False) -> List[Interval]:
    """Accuracy per eps with its interval (Wilson on the pooled samples, or t over runs if wider)."""
    ns = [len(run.y) for run in ds.runs]
    return [stats.rate([100.0 * float(np.mean(correct(run, model, i, restart))) for run in ds.runs], ns)
            for i in range(len(ds.aggregate.eps))]


def rejection_interval(ds: DatasetResult, model: str, i: int = 0) -> Interval:
    """Rejection rate at eps index i, with its interval."""
    pcts = [100.0 * float(np.mean(rejected(run, model, i))) for run in ds.runs]
    return stats.rate(pcts, [len(run.y) for run in ds.runs])


def restart_complete(ds: DatasetResult) -> bool:
    """Every run has the restart's per-sample record at every eps > 0 (units of older versions lack it)."""
    return all(run.double_init is not None and all(pt.evaded is not None for pts in run.double_init.values()
                                                   for pt in pts[1:]) for run in ds.runs)


def dnr_minus_nr(ds: DatasetResult, restart: bool = False) -> Dict:
    """DNR - NR accuracy, paired per sample (`stats.paired_difference`: the bootstrap within runs, or the t-interval
    over runs where wider): averaged over eps > 0 (the area between the curves) and per eps; and per run."""
    a, b = correct_matrix(ds, "dnr", restart), correct_matrix(ds, "nr", restart)
    diff = a["correct"][:, 1:] - b["correct"][:, 1:]
    return {"mean": stats.paired_difference(diff, a["run"]),
            "per_eps": [stats.paired_difference(diff[:, j], a["run"]) for j in range(diff.shape[1])],
            "per_run": [stats.bootstrap_mean(diff[a["run"] == r]) for r in np.unique(a["run"])]}


def _judged(claim: str, rule: str, interval: Interval, verdict: str, boundary: float) -> Claim:
    n = stats.n_to_decide(interval, boundary) if verdict == "inconclusive" else None
    return Claim(claim, rule, f"{interval.text(1)} ({interval.method})", verdict, n, interval.width_from_repeats)


def judge(name: str, ds: DatasetResult) -> List[Claim]:
    """Every checkable claim of the paper on one dataset."""
    eps = ds.aggregate.eps
    out = []
    target = published.DNR_CLEAN_REJECT_RATE.value
    lo, hi = stats.widened((target, target), "%")
    for m in ("nr", "dnr"):
        rej = rejection_interval(ds, m)
        verdict = {"consistent": "supported", "inconsistent": "contradicted"}.get(
            stats.compare(rej, (target, target)), "inconclusive")
        edge = lo if abs(rej.estimate - lo) < abs(rej.estimate - hi) else hi
        out.append(_judged(f"{m.upper()} rejects about 10% of clean samples",
                           f"interval within [{lo:.1f}, {hi:.1f}] (a factor {stats.ODDS_MARGIN} in odds around 10%): "
                           "supported; misses that range: contradicted", rej, verdict, edge))
    small = SMALL_EPS[name]
    if any(abs(e - small) < 1e-9 for e in eps):
        acc = accuracy_intervals(ds, "dnn")[[abs(e - small) < 1e-9 for e in eps].index(True)]
        out.append(_judged(f"the undefended DNN falls to about 0 accuracy at small eps (eps {small:g}: the paper's "
                           "example-figure eps)", f"accuracy at most {NEAR_ZERO:.0f}%", acc,
                           stats.at_most(acc, NEAR_ZERO), NEAR_ZERO))
    for restart in (False, True) if restart_complete(ds) else (False,):
        tag = " (with the restart)" if restart else ""
        d = dnr_minus_nr(ds, restart)["mean"]
        out.append(_judged(f"DNR accuracy >= NR accuracy across eps{tag}",
                           "DNR - NR paired per sample, averaged over eps > 0 (the bootstrap within runs, widened to "
                           "the t-interval over runs where wider): interval above 0 supported, below 0 contradicted",
                           d, stats.above(d, 0.0), 0.0))
        last = [accuracy_intervals(ds, m, restart)[-1] for m in MODELS]
        verdicts = [stats.at_most(iv, NEAR_ZERO) for iv in last]
        verdict = ("contradicted" if "contradicted" in verdicts else
                   "supported" if all(v == "supported" for v in verdicts) else "inconclusive")
        worst = max(last, key=lambda iv: iv.high)
        claim = _judged(f"every model's accuracy decays to about 0 at the largest eps {eps[-1]:g}{tag}",
                        f"every model's accuracy at most {NEAR_ZERO:.0f}%", worst, verdict, NEAR_ZERO)
        claim.measured = ", ".join(f"{m.upper()} {iv.text(1)}" for m, iv in zip(MODELS, last)) + f" ({worst.method})"
        out.append(claim)
    return out


def line_search(ds: DatasetResult) -> List[Dict]:
    """Accuracy under the paper's step search vs secml's (which may also shrink the step), paired per sample."""
    out = []
    for m, points in (ds.runs[0].line_search or {}).items():
        for pt in points:
            paper, secml = pt.evaded_paper.astype(float), pt.evaded_secml.astype(float)
            n = len(paper)
            out.append({"model": m, "eps": pt.eps, "paper": stats.wilson(n - paper.sum(), n),
                        "secml": stats.wilson(n - secml.sum(), n), "seconds": pt.seconds,
                        "secml_minus_paper": stats.bootstrap_mean(paper - secml)})  # accuracy difference
    return out
