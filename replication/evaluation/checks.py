"""Sanity checks of a security evaluation, in the manner of AutoAttack's: evaluation to failure (accuracy ~0 at
the largest eps), accuracy never rising with eps, and why the surviving samples stopped (iteration limit, vanishing
gradient: a gradient-masking symptom, or a local minimum)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

NEAR_ZERO = 5.0  # "about 0" accuracy (the DNR paper's evaluation-to-failure criterion): at most 5%


def survivor_causes(correct: np.ndarray, still_improving: np.ndarray, flat_gradient: np.ndarray) -> Dict[str, float]:
    """Among samples the attack did not evade (rejected or still correct): % cut off at max_iter, % at a vanishing
    gradient (a gradient-masking symptom), % stopped at a local minimum (neither)."""
    n = max(int(correct.sum()), 1)
    cut, flat = correct & still_improving, correct & flat_gradient & ~still_improving
    return {"survivors": 100.0 * correct.mean() if len(correct) else 0.0,
            "max_iter": 100.0 * cut.sum() / n, "flat_gradient": 100.0 * flat.sum() / n,
            "local_minimum": 100.0 * (correct & ~still_improving & ~flat_gradient).sum() / n}


def sanity(eps_grid: Sequence[float], accuracy: Dict[str, List[float]],
           causes: Optional[Dict[str, Dict[str, float]]] = None, near_zero: float = NEAR_ZERO,
           slack: float = 2.0) -> List[str]:
    """The paper's criterion: every model's accuracy reaches ~0 at the largest eps and never rises with eps.

    `causes` (per model, from `survivor_causes` at the largest eps) says why the surviving samples stopped.
    Returns the violations (empty when the evaluation looks reliable).
    """
    problems = []
    for model, acc in accuracy.items():
        if acc[-1] > near_zero:
            why = ""
            if causes and model in causes:
                c = causes[model]
                why = (f"; of the surviving samples {c['max_iter']:.0f}% were still improving at the iteration "
                       f"limit, {c['flat_gradient']:.0f}% sit where the gradient vanishes (gradient masking), "
                       f"{c['local_minimum']:.0f}% stopped at a local minimum")
            problems.append(f"{model}: accuracy {acc[-1]:.1f}% at the largest eps {eps_grid[-1]} (expected ~0): "
                            "the attack may be too weak" + why)
        attacked = acc[1:]
        for i in range(1, len(attacked)):
            if attacked[i] > attacked[i - 1] + slack:
                problems.append(f"{model}: accuracy rises from {attacked[i - 1]:.1f}% to {attacked[i]:.1f}% between "
                                f"eps {eps_grid[i]} and {eps_grid[i + 1]}: attack success should grow with eps")
    return problems


def run_checks(evaluation, near_zero: float = NEAR_ZERO) -> List[str]:
    """The sanity checks of a `SecurityEvaluation`: per attack and for the worst case, accuracy reaches ~0 at the
    largest eps and never rises with eps; for PGD attacks, why the survivors at the largest eps stopped."""
    from replication.evaluation.outcomes import accurate
    accuracy = {a: [p.accuracy().estimate for p in pts] for a, pts in evaluation.points.items()}
    accuracy["worst case"] = [i.estimate for i in evaluation.accuracy()]
    causes = {}
    for a, pts in evaluation.points.items():
        last = pts[-1]
        if last.still_improving is not None and last.eps > 0:
            causes[a] = survivor_causes(accurate(last.outcome, True), last.still_improving, last.flat_gradient)
    return sanity(evaluation.eps, accuracy, causes, near_zero) if len(evaluation.eps) > 1 else []
