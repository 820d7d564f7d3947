"""Security evaluation (Fig. 3), the threshold trade-off (Fig. 4), and the paper's sanity criterion."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np


def outcome(scores: np.ndarray, theta: float, y: np.ndarray, eps: float) -> Dict[str, float]:
    """Accuracy and rejection rate (%): at eps = 0 rejects are errors; at eps > 0 a reject counts as correct."""
    top, pred = scores.max(1), scores.argmax(1)
    rejected = top <= theta
    correct = (pred == y) & ~rejected if eps == 0 else (pred == y) | rejected
    return {"accuracy": 100.0 * float(correct.mean()), "rejection": 100.0 * float(rejected.mean())}


def threshold_tradeoff(clean_top: np.ndarray, adv_top: np.ndarray, adv_pred: np.ndarray, y: np.ndarray,
                       thetas: Sequence[float]) -> Dict[str, List[float]]:
    """Fig. 4: for each theta, false-reject rate on clean samples and accuracy under attack (%)."""
    frr = [100.0 * float((clean_top <= t).mean()) for t in thetas]
    acc = [100.0 * float(((adv_top <= t) | (adv_pred == y)).mean()) for t in thetas]
    return {"false_reject": frr, "accuracy": acc}


def survivor_causes(correct: np.ndarray, still_improving: np.ndarray, flat_gradient: np.ndarray) -> Dict[str, float]:
    """Among samples the attack did not evade (rejected or still correct): % cut off at max_iter, % at a vanishing
    gradient (a gradient-masking symptom), % stopped at a local minimum (neither)."""
    n = max(int(correct.sum()), 1)
    cut, flat = correct & still_improving, correct & flat_gradient & ~still_improving
    return {"survivors": 100.0 * correct.mean() if len(correct) else 0.0,
            "max_iter": 100.0 * cut.sum() / n, "flat_gradient": 100.0 * flat.sum() / n,
            "local_minimum": 100.0 * (correct & ~still_improving & ~flat_gradient).sum() / n}


def sanity(eps_grid: Sequence[float], accuracy: Dict[str, List[float]],
           causes: Optional[Dict[str, Dict[str, float]]] = None, near_zero: float = 5.0,
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
