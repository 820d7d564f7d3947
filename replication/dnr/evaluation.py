"""Security evaluation (Fig. 3), the threshold trade-off (Fig. 4), and the paper's sanity criterion."""
from __future__ import annotations

from typing import Dict, List, Sequence

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


def sanity(eps_grid: Sequence[float], accuracy: Dict[str, List[float]], near_zero: float = 5.0,
           slack: float = 2.0) -> List[str]:
    """The paper's criterion: every model's accuracy reaches ~0 at the largest eps and never rises with eps.

    Returns the violations (empty when the evaluation looks reliable).
    """
    problems = []
    for model, acc in accuracy.items():
        if acc[-1] > near_zero:
            problems.append(f"{model}: accuracy {acc[-1]:.1f}% at the largest eps {eps_grid[-1]} (expected ~0): "
                            "the attack may be too weak")
        attacked = acc[1:]
        for i in range(1, len(attacked)):
            if attacked[i] > attacked[i - 1] + slack:
                problems.append(f"{model}: accuracy rises from {attacked[i - 1]:.1f}% to {attacked[i]:.1f}% between "
                                f"eps {eps_grid[i]} and {eps_grid[i + 1]}: attack success should grow with eps")
    return problems
