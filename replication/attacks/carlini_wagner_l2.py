"""Carlini-Wagner L2, as CleverHans 4.0.0 ships it but with its TF2 defects fixed.

We subclass CleverHans' `CarliniWagnerL2` (same arguments, same loss `loss_fn`, same tanh box
`clip_tanh`) and replace its batch loop. Each fix, against CleverHans 4.0.0:

1. `const` is one constant per example, shape (batch,). CleverHans builds it with the image's
   shape, so `const * loss_1` broadcasts to (batch, H, W, C, batch): the samples of a batch are
   coupled and the effective constant is scaled (upstream #1205; RGB inputs crash).
2. `targeted` is honoured. CleverHans sets `targeted = y is not None` (upstream #1228).
3. `y` is sliced with `x` per batch. CleverHans passes the whole `y` to every batch.
4. Adam state is reset per binary-search step without touching the learning rate. With Keras 3,
   `optimizer.variables()` crashes (a list, not a method); zeroing `optimizer.variables` instead
   also zeroes the learning-rate variable, so the attack returns its input unchanged. We keep
   Adam's moments (TF1 `AdamOptimizer` update, as in Carlini & Wagner's code) in our own state.
5. Early abort is decided per example, so an example's result never depends on its batch mates
   (Carlini & Wagner's code aborts a whole batch on the summed loss).

Beyond CleverHans: the distance term is measured in units of the box's width, so `initial_const` means the same
on 0-255 pixels as on [0, 1] (identical on a box of width 1), and a softmax network is attacked through its logits
(`replication.defenses.base.pre_softmax`).
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np
import tensorflow as tf
from cleverhans.tf2.attacks.carlini_wagner_l2 import CarliniWagnerL2, clip_tanh, loss_fn
from tqdm.auto import tqdm

from replication.defenses.base import Defense, as_scorer
from replication.defenses.inputs import check_images, check_labels

_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-8


class FixedCarliniWagnerL2(CarliniWagnerL2):
    """CleverHans' Carlini-Wagner L2 attack with fixes 1-5 (module docstring)."""

    def __init__(self, target, y=None, targeted: bool = False, progress: bool = False, **kwargs):
        """`target`: a defense (its network's own output is attacked), a Keras classifier or a callable x -> logits;
        the box defaults to the defense's input range (else CleverHans' [0, 1])."""
        if isinstance(target, Defense):
            kwargs.setdefault("clip_min", target.input_range[0])
            kwargs.setdefault("clip_max", target.input_range[1])
        self.scorer = as_scorer(target)
        super().__init__(self.scorer.logits, y=y, targeted=targeted, **kwargs)
        if not self.clip_max > self.clip_min:
            raise ValueError(f"the box must have clip_min < clip_max, got [{self.clip_min}, {self.clip_max}]")
        self.width2 = float(self.clip_max - self.clip_min) ** 2  # the distance term in units of the box's width
        self.progress = progress
        self.targeted = bool(targeted)  # fix 2
        if self.targeted and y is None:
            raise ValueError("a targeted attack needs the target labels y")
        self._step_fn = tf.function(self._step)

    def attack(self, x: np.ndarray) -> np.ndarray:
        """Adversarial examples for x (examples that never succeed are returned unchanged)."""
        return self.attack_with_info(x)[0]

    def attack_with_info(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(adversarial x, success mask, L2 distance to x) for every example."""
        x = check_images(x, (self.clip_min, self.clip_max), self.scorer.input_shape)
        labels = self._labels(x)
        adv = np.array(x, copy=True)
        success = np.zeros(len(x), bool)
        starts = range(0, len(x), self.batch_size)
        for i in tqdm(starts, desc="Carlini-Wagner L2 batches", disable=not self.progress):
            batch = slice(i, i + self.batch_size)
            adv[batch], success[batch] = self._attack_batch(x[batch], labels[batch])  # fix 3
        l2 = np.sqrt(((adv - x) ** 2).reshape(len(x), -1).sum(1))
        return adv, success, l2

    def _labels(self, x: np.ndarray) -> np.ndarray:
        """One-hot labels: the given y (targets or true labels), else the model's predictions."""
        if self.y is None:
            logits = np.concatenate([self.model_fn(tf.constant(x[i:i + 512])).numpy()
                                     for i in range(0, len(x), 512)])
            return np.eye(logits.shape[1], dtype=np.float32)[logits.argmax(1)]
        y = np.asarray(self.y)
        if y.ndim == 1:
            n_classes = int(self.model_fn(tf.constant(x[:1])).shape[1])
            y = np.eye(n_classes, dtype=np.float32)[check_labels(y, len(x), n_classes)]
        if len(y) != len(x):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)} labels")
        return y.astype(np.float32)

    def _attack_batch(self, x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        n = len(x)
        x01 = np.clip((x - self.clip_min) / (self.clip_max - self.clip_min), 0.0, 1.0)
        w0 = tf.constant(np.arctanh((x01 * 2 - 1) * 0.999999), tf.float32)
        y_t = tf.constant(y)
        lower, upper = np.zeros(n), np.full(n, 1e10)
        const = np.full(n, self.initial_const)  # fix 1: one constant per example
        best_l2, best_adv = np.full(n, 1e10), np.array(x, copy=True)
        steps = tqdm(range(self.binary_search_steps), desc="binary-search steps", leave=False,
                     disable=not self.progress)
        for outer in steps:
            if self.binary_search_steps >= 10 and outer == self.binary_search_steps - 1:
                const = upper.copy()
            state = self._fresh_state(w0.shape, n)  # fix 4: new Adam moments, lr untouched
            const_t = tf.constant(const, tf.float32)
            check_every = (self.max_iterations // 10) or 1
            for it in range(self.max_iterations):
                check = self.abort_early and it % check_every == 0
                self._step_fn(w0, y_t, const_t, state, tf.constant(check))
                if check and it > 0 and not state["active"].numpy().any():
                    break
            cur_l2 = state["best_l2"].numpy()
            found = cur_l2 < 1e10
            better = found & (cur_l2 < best_l2)
            best_l2[better] = cur_l2[better]
            best_adv[better] = state["best_adv"].numpy()[better]
            lower, upper, const = _binary_search(found, lower, upper, const)
            steps.set_postfix_str(f"found {int((best_l2 < 1e10).sum())}/{n}", refresh=False)
        return best_adv, best_l2 < 1e10

    @staticmethod
    def _fresh_state(shape, n: int) -> dict:
        zeros = lambda: tf.Variable(tf.zeros(shape))  # noqa: E731
        return {"modifier": zeros(), "m": zeros(), "v": zeros(), "t": tf.Variable(0.0),
                "active": tf.Variable(tf.ones(n, tf.bool)), "prev": tf.Variable(tf.fill([n], np.inf)),
                "best_l2": tf.Variable(tf.fill([n], 1e10)), "best_adv": zeros()}

    def _step(self, w0, y, const, state, check):
        """One Adam step on the active examples; records the best successful point so far."""
        modifier = state["modifier"]
        with tf.GradientTape() as tape:
            x_new = clip_tanh(modifier + w0, clip_min=self.clip_min, clip_max=self.clip_max)
            logits = self.model_fn(x_new)
            _, l2 = loss_fn(x=w0, x_new=x_new, y_true=y, y_pred=logits, confidence=self.confidence,
                            const=const, targeted=self.targeted, clip_min=self.clip_min, clip_max=self.clip_max)
            per_example = l2 / self.width2 + const * self._margin(y, logits)
            total = tf.reduce_sum(per_example)
        grad = tape.gradient(total, modifier)
        success = self._success(y, logits)
        improved = success & (l2 < state["best_l2"])
        state["best_l2"].assign(tf.where(improved, l2, state["best_l2"]))
        mask = tf.reshape(improved, [-1] + [1] * (len(x_new.shape) - 1))
        state["best_adv"].assign(tf.where(mask, x_new, state["best_adv"]))
        if check:  # fix 5: per-example early abort
            stalled = per_example > state["prev"] * 0.9999
            state["active"].assign(state["active"] & ~stalled)
            state["prev"].assign(per_example)
        self._adam(state, grad)

    def _margin(self, y, logits):
        real = tf.reduce_sum(y * logits, 1)
        other = tf.reduce_max((1.0 - y) * logits - y * 10_000, 1)
        if self.targeted:
            return tf.maximum(0.0, other - real + self.confidence)
        return tf.maximum(0.0, real - other + self.confidence)

    def _success(self, y, logits):
        label = tf.argmax(y, 1)
        if self.targeted:
            return tf.argmax(logits - self.confidence * y, 1) == label
        return tf.argmax(logits + self.confidence * y, 1) != label

    def _adam(self, state, grad):
        t = state["t"].assign_add(1.0)
        m = state["m"].assign(_BETA1 * state["m"] + (1 - _BETA1) * grad)
        v = state["v"].assign(_BETA2 * state["v"] + (1 - _BETA2) * tf.square(grad))
        lr_t = self.learning_rate * tf.sqrt(1 - _BETA2 ** t) / (1 - _BETA1 ** t)
        step = lr_t * m / (tf.sqrt(v) + _ADAM_EPS)
        active = tf.reshape(state["active"], [-1] + [1] * (len(grad.shape) - 1))
        state["modifier"].assign_sub(tf.where(active, step, 0.0))


def _binary_search(found: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   const: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Carlini & Wagner's per-example update of the constant after one binary-search step."""
    upper = np.where(found, np.minimum(upper, const), upper)
    lower = np.where(found, lower, np.maximum(lower, const))
    bounded = upper < 1e9
    const = np.where(bounded, (lower + upper) / 2, np.where(found, const, const * 10))
    return lower, upper, const


def carlini_wagner_l2(model_fn: Callable, x: np.ndarray, y: Optional[np.ndarray] = None,
                      targeted: bool = False, **kwargs) -> np.ndarray:
    """Function interface (as CleverHans' `carlini_wagner_l2`), with the fixes applied."""
    return FixedCarliniWagnerL2(model_fn, y=y, targeted=targeted, **kwargs).attack(x)
