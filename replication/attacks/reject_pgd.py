"""Sotgiu et al.'s defense-aware, maximum-confidence L2 PGD (Eq. 1, Algorithm 1), plus an L-inf variant.

minimise  Omega(x') = s_y(x') - max_{j not in {0, y}} s_j(x')   s.t. ||x' - x||_2 <= eps, x' in box.

With norm="linf" the ball is ||x' - x||_inf <= eps and the direction is the gradient's sign (our extension).

The reject score s_0 is left out of the max, so the attack seeks a confident wrong class rather than
the reject option; on an undefended network the same objective is a maximum-confidence attack on its
logits. Each iteration takes the (box-aware, L2-normalised) descent direction, tries the step sizes
eta * 2^k for k = 0..doublings, projects each candidate, and keeps the best one when it lowers Omega.
A sample stops when Omega changes by <= tol (or cannot be lowered), or at max_iter.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from replication.defenses.base import as_scorer, box_of, evaded, scores_of, search_scorer
from replication.defenses.inputs import check_eps, check_images, check_labels


def omega(scores: tf.Tensor, y: tf.Tensor, reject_aware: bool = False) -> tf.Tensor:
    """Omega = s_y - max_{j != y} s_j, per sample.

    reject_aware: the last column of `scores` is the reject score s_0, and Omega = s_k - max_{j not in {y, 0}} s_j
    with k = 0 where the reject option wins, else y (the objective of secml's CAttackEvasionPGDLS, the DNR
    authors' library): a rejected point is pushed out of the reject region instead of lowering s_y further.
    """
    n = tf.shape(scores)[1]
    onehot = tf.one_hot(y, n, dtype=scores.dtype)
    true = tf.reduce_sum(scores * onehot, 1)
    if not reject_aware:
        return true - tf.reduce_max(scores - onehot * 1e9, 1)
    reject = scores[:, -1]
    excluded = onehot + tf.one_hot(tf.fill(tf.shape(y), n - 1), n, dtype=scores.dtype)
    other = tf.reduce_max(scores - excluded * 1e9, 1)
    rejected = tf.equal(tf.argmax(scores, 1, output_type=tf.int32), n - 1)
    return tf.where(rejected, reject, true) - other


NORMS = ("l2", "linf")


def project(candidates: tf.Tensor, x0: tf.Tensor, eps: tf.Tensor, lo: float, hi: float, norm: str = "l2") -> tf.Tensor:
    """Each sample (axis 0) into the L2 (or L-inf) ball around its x0 (radius eps), then the box.

    Clipping never leaves the ball since x0 is in the box.
    """
    delta = candidates - x0
    if norm == "linf":
        return tf.clip_by_value(x0 + tf.clip_by_value(delta, -eps, eps), lo, hi)
    axes = list(range(1, len(delta.shape)))
    length = tf.sqrt(tf.reduce_sum(tf.square(delta), axes, keepdims=True))
    delta = delta * tf.minimum(1.0, eps / tf.maximum(length, 1e-12))
    return tf.clip_by_value(x0 + delta, lo, hi)


def steepest_direction(grad: tf.Tensor, x: tf.Tensor, lo: float, hi: float, norm: str = "l2") -> tf.Tensor:
    """The descent direction of unit norm: -grad / ||grad||_2 (L2) or -sign(grad) (L-inf), with the components
    that would leave the box zeroed."""
    direction = -grad
    leaving = ((x <= lo) & (direction < 0)) | ((x >= hi) & (direction > 0))
    direction = tf.where(leaving, 0.0, direction)
    if norm == "linf":
        return tf.sign(direction)
    axes = list(range(1, len(x.shape)))
    return direction / tf.maximum(tf.sqrt(tf.reduce_sum(tf.square(direction), axes, keepdims=True)), 1e-12)


class RejectPGD:
    """Batched attack on a defense (its scorer: class scores, reject score last), a Keras classifier or a callable
    x -> logits (see module docstring); with reject_aware=True and a defense that can reject, the objective is
    secml's (see `omega`).

    Line search: the paper's Algorithm 1 tries eta * 2^k, k = 0..doublings. `halvings` > 0 adds the smaller steps
    eta * 2^-k, k = 1..halvings, as the authors' library secml can (its bisect search halves from eta while the
    objective rises); all candidates are evaluated at once and the best one that lowers Omega is kept.

    `restart`: clean reference images (e.g. validation samples). When given, calling the attack also runs secml's
    double initialisation (`replication.attacks.double_init`) on the samples the first run did not evade.
    `precision="float32"`: search with the float32 twin of an NR/DNR scorer (faster kernels, scores within 1e-4
    relative); every outcome is still read from the float64 scorer on the points the search returns.
    `box`: the input range; by default the defense's, else [0, 1]. `eta` is relative to the box's width: on [0, 1]
    (and [-0.5, 0.5]) it is the paper's step; on 0-255 pixels every step is 255 times larger, so the attack at
    255 * eps takes the path it takes on [0, 1] images at eps.
    """

    def __init__(self, target, eta: float = 0.01, max_iter: int = 100, tol: float = 1e-4, doublings: int = 10,
                 box: Optional[Tuple[float, float]] = None, batch_size: int = 100, norm: str = "l2",
                 reject_aware: bool = False, halvings: int = 0, restart: Optional[np.ndarray] = None,
                 precision: str = "float64"):
        if eta <= 0 or max_iter < 1 or doublings < 0 or halvings < 0:
            raise ValueError("need eta > 0, max_iter >= 1, doublings >= 0 and halvings >= 0")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.scorer = as_scorer(target)                # what every decision is read from
        self.search = search_scorer(target, precision)  # what the descent differentiates and compares
        self.precision = precision
        self.norm, self.reject_aware = norm, reject_aware and self.scorer.rejects
        self.eta, self.max_iter, self.tol = eta, max_iter, tol
        self.halvings = halvings
        self.lo, self.hi = box if box is not None else box_of(target)
        if not self.hi > self.lo:
            raise ValueError(f"the box must have lo < hi, got [{self.lo}, {self.hi}]")
        width = float(self.hi - self.lo)
        self.steps = tf.constant([eta * 2.0 ** k * width for k in range(-halvings, doublings + 1)], tf.float32)
        self.batch_size = batch_size
        self.restart_from = None if restart is None else np.asarray(restart, np.float32)
        self._starts: Optional[np.ndarray] = None
        self._iterate = tf.function(self._iteration, reduce_retracing=True)  # batch sizes shrink as samples stop

    @property
    def starts(self) -> np.ndarray:
        """Per true class, the double initialisation's start (from the `restart` reference images)."""
        if self.restart_from is None:
            raise ValueError("this attack has no restart: pass restart=<clean reference images>")
        if self._starts is None:
            from replication.attacks.double_init import class_starts
            self._starts = class_starts(self.search, self.restart_from)
        return self._starts

    def _omega(self, scores: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return omega(scores, y, True) if self.reject_aware else omega(scores[:, :-1], y)

    def objective(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Omega at x."""
        return self._omega(self.search(tf.constant(x, tf.float32)), tf.constant(y)).numpy()

    def gradient_norm(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """||grad Omega||_2 per sample: ~0 where the scores are flat (e.g. RBF kernels vanishing far from the data)."""
        x_t = tf.constant(np.asarray(x, np.float32))
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            total = tf.reduce_sum(self._omega(self.search(x_t), tf.constant(np.asarray(y, np.int64))))
        g = tape.gradient(total, x_t).numpy().reshape(len(x), -1)
        return np.sqrt((g.astype(np.float64) ** 2).sum(1))

    def diagnose(self, adv: np.ndarray, y: np.ndarray, history: np.ndarray, flat: float = 1e-6) -> dict:
        """Why samples stopped: per-sample flags (still improving at max_iter, vanishing gradient: below `flat`
        per unit of the box's width), iterations run."""
        iterations = history.shape[0] - 1
        moving = (np.abs(history[-1] - history[-2]) > self.tol if iterations >= 1 else np.zeros(len(y), bool))
        return {"iterations": iterations, "still_improving": moving & (iterations >= self.max_iter),
                "flat_gradient": self.gradient_norm(adv, y) * (self.hi - self.lo) < flat}

    def __call__(self, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
        """Adversarial x; with `restart`, where the first run fails and the restart evades, the restart's."""
        adv, _ = self.attack(x, y, eps)
        return adv if self.restart_from is None or eps == 0 else self.merge_restart(x, y, eps, adv)

    def merge_restart(self, x: np.ndarray, y: np.ndarray, eps: float, adv: np.ndarray) -> np.ndarray:
        """`adv` (the first run's) with the restart's adversarial wherever only the restart evades."""
        from replication.attacks.double_init import restart
        first = evaded(scores_of(self.scorer, adv), np.asarray(y))
        second = restart(self, x, y, eps, first)
        won = second["restart_evaded"][second["index"]]
        adv = np.array(adv, copy=True)
        adv[second["index"][won]] = second["adv"][won]
        return adv

    def attack(self, x: np.ndarray, y: np.ndarray, eps: float,
               start: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(adversarial x, Omega per iteration of shape (iterations + 1, n)).

        `start` (same shape as x): where the descent begins instead of x, after projection onto the ball and box
        (e.g. secml's double initialisation, `replication.attacks.double_init`).
        """
        x = check_images(x, (self.lo, self.hi), self.scorer.input_shape)
        y = check_labels(y, len(x), self.scorer.classes)
        eps = check_eps(eps)
        if start is not None and np.shape(start) != x.shape:
            raise ValueError(f"start has shape {np.shape(start)}, expected x's {x.shape}")
        start = x if start is None else check_images(start, what="start")
        return self._descend(x, y, eps, start)

    def _descend(self, x0: np.ndarray, y: np.ndarray, eps: float, start: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Descend with a working set of at most `batch_size` samples: a sample leaves it when it stops (it never
        moves again) and the next waiting sample takes its place, so each iteration computes only samples still
        moving, in full batches. Each sample's trajectory is the one it has alone."""
        n = len(x0)
        adv, omega = np.array(x0, copy=True), np.zeros(n, np.float32)
        history = np.zeros((self.max_iter + 1, n), np.float32)
        steps_done = np.zeros(n, np.int64)
        eps_t = tf.constant(eps, tf.float32)
        waiting, working = 0, np.zeros(0, np.int64)
        while waiting < n or len(working):
            if waiting < n and len(working) < self.batch_size:
                new = np.arange(waiting, min(n, waiting + self.batch_size - len(working)))
                waiting += len(new)
                adv[new], omega[new] = self._enter(x0[new], y[new], start[new], eps_t)
                history[0, new] = omega[new]
                working = np.concatenate([working, new]) if eps > 0 else working
                continue
            new_x, new_omega, moving = self._iterate(tf.constant(adv[working]), tf.constant(x0[working]),
                                                     tf.constant(y[working]), eps_t, tf.constant(omega[working]))
            adv[working], omega[working] = new_x.numpy(), new_omega.numpy()
            steps_done[working] += 1
            history[steps_done[working], working] = omega[working]
            working = working[moving.numpy() & (steps_done[working] < self.max_iter)]
        rows = int(steps_done.max(initial=0)) + 1
        for i in np.flatnonzero(steps_done < rows - 1):  # a stopped sample keeps its last Omega
            history[steps_done[i] + 1:rows, i] = history[steps_done[i], i]
        return (x0.copy() if eps == 0 else adv), history[:rows]

    def _enter(self, x0: np.ndarray, y: np.ndarray, start: np.ndarray, eps: tf.Tensor):
        """Start points (projected onto the ball and box) and their Omega."""
        x = project(tf.constant(start), tf.constant(x0), eps, self.lo, self.hi, self.norm)
        return x.numpy(), self._omega(self.search(x), tf.constant(y)).numpy()

    def _iteration(self, x, x0, y, eps, omega):
        """One step of every sample given: gradient, the candidate steps, the best one kept where it lowers Omega.
        Returns (x, Omega, still moving)."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(self._omega(self.search(x), y))
        direction = steepest_direction(tape.gradient(total, x), x, self.lo, self.hi, self.norm)
        k = int(self.steps.shape[0])
        shape = tf.concat([[k], tf.ones(len(x.shape), tf.int32)], 0)
        steps = tf.reshape(self.steps, shape)
        flat_shape = tf.concat([[-1], tf.shape(x)[1:]], 0)  # (k * batch, ...), step-major
        flat = project(tf.reshape(x[None] + steps * direction[None], flat_shape),
                       tf.reshape(tf.repeat(x0[None], k, axis=0), flat_shape), eps, self.lo, self.hi, self.norm)
        candidates = tf.reshape(flat, tf.concat([[k], tf.shape(x)], 0))
        cand_omega = tf.reshape(self._omega(self.search(flat), tf.tile(y, [k])), [k, -1])
        best = tf.argmin(cand_omega, 0)
        best_omega = tf.reduce_min(cand_omega, 0)
        improve = best_omega < omega
        chosen = tf.gather(tf.transpose(candidates, [1, 0] + list(range(2, len(candidates.shape)))), best, batch_dims=1)
        mask = tf.reshape(improve, [-1] + [1] * (len(x.shape) - 1))
        new_x = tf.where(mask, chosen, x)
        new_omega = tf.where(improve, best_omega, omega)
        still = improve & (tf.abs(omega - best_omega) > self.tol)
        return new_x, new_omega, still
