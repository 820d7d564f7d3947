"""Per-sample statements of the unified report, each with its interval: where detection collapses, DNR vs NR on
the common axis, and the style control."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from replication.evaluation import stats
from replication.evaluation.outcomes import CORRECT, outcome_of
from replication.evaluation.stats import Interval
from replication.unified.records import AttackPoint, Axis


def collapse(weak: AttackPoint, adaptive: AttackPoint) -> Dict:
    """'Detection collapses' (the adaptive attack's detection is at most half the weak attack's), paired per sample:
    the bootstrap interval of mean(adaptive detected - weak detected / 2), supported when it lies at or below 0."""
    d_weak, d_adaptive = weak.detected_samples().astype(float), adaptive.detected_samples().astype(float)
    diff = stats.bootstrap_mean(d_adaptive - 0.5 * d_weak)
    verdict = stats.at_most(diff, 0.0)
    return {"weak": stats.wilson(d_weak.sum(), len(d_weak)),
            "adaptive": stats.wilson(d_adaptive.sum(), len(d_adaptive)),
            "difference": diff, "verdict": verdict}


def correct_per_sample(axis: Axis, model: str, y: np.ndarray) -> np.ndarray:
    """(samples, eps) correctness on the axis under the worst case of its attacks (evaded by none of them); at eps 0
    the clean outcome (a detection is an error)."""
    cols = []
    for i, pt in enumerate(axis.points[model]):
        if pt.eps == 0:
            cols.append(outcome_of(pt.pred, pt.margin, y) == CORRECT)
            continue
        hit = pt.evaded_samples(y)
        for curve in (axis.restart.get(model), axis.reject_aware.get(model)):
            if curve:
                hit = hit | curve[i].evaded_samples(y)
        cols.append(~hit)
    return np.stack(cols, 1).astype(float)


def dnr_minus_nr(axis: Axis, y: np.ndarray) -> Dict:
    """Paired bootstrap of DNR - NR worst-case accuracy: over eps > 0 and per eps."""
    diff = correct_per_sample(axis, "dnr", y)[:, 1:] - correct_per_sample(axis, "nr", y)[:, 1:]
    mean = stats.bootstrap_mean(diff)
    return {"mean": mean, "verdict": stats.above(mean, 0.0),
            "per_eps": [stats.bootstrap_mean(diff[:, j]) for j in range(diff.shape[1])]}


def accuracy_intervals(axis: Axis, model: str, y: np.ndarray) -> List[Interval]:
    """Worst-case accuracy per eps with its Wilson interval."""
    c = correct_per_sample(axis, model, y)
    return [stats.wilson(c[:, j].sum(), len(c)) for j in range(c.shape[1])]


def style(control: Dict, clean_background_detected: Interval) -> Dict:
    """The style control's two measurements as intervals, and what they allow one to say."""
    sep = control["separability"]
    emnist = control["background_on_emnist_digits"]
    separable = stats.wilson(sep["correct"], sep["n"])
    fires = stats.wilson(emnist["detected"], emnist["n"])
    return {"separability": separable, "emnist_digits_detected": fires, "mnist_digits_detected":
            clean_background_detected, "style_learnable": separable.low > 90.0,
            "fires_on_style": fires.low > clean_background_detected.high}
