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

from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from replication.attacks.reject_pgd import RejectPGD, omega
from replication.defenses.base import as_scorer, evaded, scores_of


def class_starts(target, reference: np.ndarray, batch: int = 500) -> np.ndarray:
    """Per true class c (axis 0): the reference point minimising Omega(., c) = s_c - max_{j != c} s_j."""
    reference = np.asarray(reference, np.float32)
    if len(reference) == 0:
        raise ValueError("the reference set for the double initialisation is empty")
    scores = scores_of(as_scorer(target), reference, batch)[:, :-1]
    best = [int(np.argmin(omega(tf.constant(scores), tf.fill([len(scores)], c)).numpy()))
            for c in range(scores.shape[1])]
    return reference[best]


def restart(attack: RejectPGD, x: np.ndarray, y: np.ndarray, eps: float, first_evaded: np.ndarray,
            starts: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Rerun `attack` from the projected class starts (`attack.starts` unless given) on the samples the first run
    did not evade; a sample is evaded when the attacked scorer gives a wrong class without rejecting.

    Returns per sample: `evaded` (by either run), `restart_evaded` (by the restart only: the first run's misses),
    and the restart's adversarials for the samples it ran on (`index`).
    """
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    starts = attack.starts if starts is None else starts
    if starts.shape[1:] != x.shape[1:]:
        raise ValueError(f"starts have shape {starts.shape[1:]} per class, expected {x.shape[1:]}")
    index = np.flatnonzero(~np.asarray(first_evaded, bool)) if eps > 0 else np.zeros(0, np.int64)
    both = np.asarray(first_evaded, bool).copy()
    gained = np.zeros(len(x), bool)
    if len(index) == 0:
        return {"evaded": both, "restart_evaded": gained, "index": index, "adv": x[index]}
    adv, _ = attack.attack(x[index], y[index], eps, start=starts[y[index]])
    won = evaded(scores_of(attack.scorer, adv), y[index])
    both[index[won]] = True
    gained[index[won]] = True
    return {"evaded": both, "restart_evaded": gained, "index": index, "adv": adv}
