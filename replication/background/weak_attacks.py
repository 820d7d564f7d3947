"""Section VI.A: the paper's weak attacks, FGS (L-inf) and FG (L2), untargeted with the true labels."""
from __future__ import annotations

from typing import Callable

import numpy as np

from replication.attacks import fast_gradient
from replication.background import training

NORMS = {"fgs": np.inf, "fg": 2}


def weak_attack(target, x: np.ndarray, y: np.ndarray, attack: str, eps: float) -> np.ndarray:
    """FGS or FG adversarials of x against `target` (a defense or a Keras model; the network's own output is
    differentiated), pixels clipped to [-0.5, 0.5]."""
    return fast_gradient(target, x, y, eps, NORMS[attack], *training.PIXELS)


def attack(target, name: str) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    """`weak_attack` as `replication.evaluation` runs an attack: a function (x, y, eps) -> adversarial x."""
    return lambda x, y, eps: weak_attack(target, x, y, name, eps)
