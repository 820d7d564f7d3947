"""secml's double initialisation for the reject-aware PGD: a restart that escapes the x0 run's local minima.

The DNR authors' library (secml, `CAttackEvasionPGDLS`) runs every evasion attack from x0 and, when that fails,
again from a second start: for true class y, the point of a reference set (`double_init_ds`) with the lowest
objective Omega(., y) (the set's most confident "anything but y"), projected onto the ball and box; the lower
objective wins. We keep secml's choice of start and restart only the samples the x0 run did not evade; a sample
counts as evaded when either run evades (the attacker keeps the adversarial that works), as in AutoAttack's
worst case over attacks. The restart is an attack-strength check beyond the paper's curves: accuracy that
survives the x0 run but not the restart was the attack's weakness, not the defense's strength.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np
import tensorflow as tf

from replication.attacks.reject_pgd import RejectPGD, margin


def class_starts(scorer: Callable[[tf.Tensor], tf.Tensor], reference: np.ndarray, n_classes: int,
                 batch: int = 500) -> np.ndarray:
    """Per true class c (axis 0): the reference point minimising Omega(., c) = s_c - max_{j != c} s_j."""
    reference = np.asarray(reference, np.float32)
    if len(reference) == 0:
        raise ValueError("the reference set for the double initialisation is empty")
    scores = np.concatenate([scorer(tf.constant(reference[i:i + batch])).numpy()
                             for i in range(0, len(reference), batch)])
    best = [int(np.argmin(margin(tf.constant(scores), tf.fill([len(scores)], c)).numpy())) for c in range(n_classes)]
    return reference[best]


def evaded(scores: np.ndarray, theta: float, y: np.ndarray) -> np.ndarray:
    """Per sample: given a wrong class and not rejected (max score above theta)."""
    return (scores.argmax(1) != y) & (scores.max(1) > theta)


def evaded_by_scores(scorer: Callable[[tf.Tensor], tf.Tensor], theta: float,
                     batch: int = 200) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`is_evaded` for a scorer with a constant reject score theta (NR, DNR; -inf for an undefended net)."""
    def is_evaded(adv: np.ndarray, y: np.ndarray) -> np.ndarray:
        scores = np.concatenate([scorer(tf.constant(adv[i:i + batch])).numpy() for i in range(0, len(adv), batch)])
        return evaded(scores, theta, y)
    return is_evaded


def restart(attack: RejectPGD, x: np.ndarray, y: np.ndarray, eps: float, starts: np.ndarray,
            is_evaded: Callable[[np.ndarray, np.ndarray], np.ndarray],
            first_evaded: np.ndarray) -> Dict[str, np.ndarray]:
    """Rerun `attack` from the projected class starts on the samples the first run did not evade.

    `is_evaded(adv, y)`: per sample, whether the defended model gives a wrong class without rejecting (for a
    constant reject score, `evaded_by_scores`). Returns per sample: `evaded` (by either run), `restart_evaded` (by
    the restart only: the first run's misses), and the restart's adversarials for the samples it ran on (`index`).
    """
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    if starts.shape[1:] != x.shape[1:]:
        raise ValueError(f"starts have shape {starts.shape[1:]} per class, expected {x.shape[1:]}")
    index = np.flatnonzero(~np.asarray(first_evaded, bool)) if eps > 0 else np.zeros(0, np.int64)
    both = np.asarray(first_evaded, bool).copy()
    if len(index) == 0:
        return {"evaded": both, "restart_evaded": np.zeros(len(x), bool), "index": index, "adv": x[index]}
    adv, _ = attack.attack(x[index], y[index], eps, start=starts[y[index]])
    won = np.asarray(is_evaded(adv, y[index]), bool)
    both[index[won]] = True
    gained = np.zeros(len(x), bool)
    gained[index[won]] = True
    return {"evaded": both, "restart_evaded": gained, "index": index, "adv": adv}
