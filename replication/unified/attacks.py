"""The attacks of the unified comparison, as functions of a defense: the paper's FGS/FG, non-adaptive PGD
(CleverHans, on the full model output with the true labels), the DNR paper's defense-aware PGD (Eq. 1, which
leaves the reject score out), and the same PGD with secml's reject-aware objective (which lowers the reject
score while the point is rejected)."""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf
from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

from replication.attacks import RejectPGD, double_init, fast_gradient
from replication.defenses import Defense
from replication.runs.protocols import UnifiedProtocol
from replication.unified.detectors import BOX
from replication.unified.records import AttackPoint, RestartPoint

ATTACKS = {  # name: (norm, family)
    "fgs": ("linf", "fgm"), "fg": ("l2", "fgm"),
    "pgd_linf": ("linf", "pgd"), "pgd_l2": ("l2", "pgd"),
    "adaptive_linf": ("linf", "adaptive"), "adaptive_l2": ("l2", "adaptive"),
    "reject_aware_linf": ("linf", "reject_aware"), "reject_aware_l2": ("l2", "reject_aware"),
}
_ORDER = {"linf": np.inf, "l2": 2}


def attack_for(name: str, defense: Defense, p: UnifiedProtocol):
    """Attack `name` as `replication.evaluation.security_evaluation` runs it: a RejectPGD (the adaptive families,
    which return the input at eps 0) or a function (x, y, eps) -> adversarial x, the identity at eps 0."""
    norm, family = ATTACKS[name]
    if family in ("adaptive", "reject_aware"):
        return adaptive(defense, norm, p, reject_aware=family == "reject_aware")
    if family == "fgm":
        run = lambda x, y, e: fast_gradient(defense, x, y, e, _ORDER[norm], *BOX)  # noqa: E731
    else:
        run = lambda x, y, e: _pgd(defense, x, y, e, norm, p.pgd_iter)  # noqa: E731
    return lambda x, y, e: np.array(x, copy=True) if e == 0 else run(x, y, e)


def adaptive(defense: Defense, norm: str, p: UnifiedProtocol, reject_aware: bool = False,
             restart: Optional[np.ndarray] = None) -> RejectPGD:
    """The DNR paper's defense-aware PGD on the defense's digit scores, with the DNR protocol's settings;
    reject_aware: secml's objective on digit + reject scores (the plain one for a model without reject option);
    restart: the reference images of secml's double initialisation."""
    dp = p.dnr.mnist
    return RejectPGD(defense, eta=dp.pgd_eta, max_iter=dp.pgd_max_iter, tol=dp.pgd_tol, doublings=dp.pgd_doublings,
                     box=BOX, batch_size=dp.attack_batch, norm=norm, reject_aware=reject_aware, restart=restart)


def restart(attack: RejectPGD, first: AttackPoint, x: np.ndarray, y: np.ndarray) -> RestartPoint:
    """secml's double-initialisation restart of the adaptive L2 attack (built with `restart=`) on the samples
    `first` (a point of the axis) left unevaded; accuracy when the attacker keeps whichever run evades."""
    out = double_init.restart(attack, x, y, first.eps, first.evaded_samples(y))
    accuracy = first.accuracy if first.eps == 0 else 100.0 * float((~out["evaded"]).mean())
    return RestartPoint(first.eps, accuracy, 100.0 * float(out["restart_evaded"].mean()), int(len(out["index"])),
                        out["evaded"])


def _pgd(defense: Defense, x: np.ndarray, y: np.ndarray, eps: float, norm: str, iters: int,
         batch: int = 250) -> np.ndarray:
    """Madry et al.'s PGD without random start (CleverHans): step 2.5 eps / iterations, true labels."""
    out = np.empty_like(x, dtype=np.float32)
    for i in range(0, len(x), batch):
        out[i:i + batch] = projected_gradient_descent(
            defense.scorer.logits, tf.constant(x[i:i + batch], tf.float32), eps, 2.5 * eps / iters, iters, _ORDER[norm],
            clip_min=BOX[0], clip_max=BOX[1], y=tf.constant(y[i:i + batch], tf.int64), rand_init=0).numpy()
    return out
