"""Section VI.A: the paper's weak attacks, FGS (L-inf) and FG (L2), untargeted with the true labels."""
from __future__ import annotations

import numpy as np

from replication.attacks import fast_gradient
from replication.background import training

NORMS = {"fgs": np.inf, "fg": 2}


def weak_attack(model, x: np.ndarray, y: np.ndarray, attack: str, eps: float) -> np.ndarray:
    """FGS or FG adversarials of x against `model`, pixels clipped to [-0.5, 0.5]."""
    return fast_gradient(training.logits_fn(model), x, y, eps, NORMS[attack], *training.PIXELS)
