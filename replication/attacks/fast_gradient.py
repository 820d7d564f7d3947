"""CleverHans' fast gradient method (FGS for L-inf, FG for L2), batched and compiled."""
from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf
from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method

_compiled = tf.function(fast_gradient_method, reduce_retracing=True)


def fast_gradient(model_fn: Callable, x: np.ndarray, y: np.ndarray, eps: float, norm,
                  clip_min: float, clip_max: float, batch_size: int = 512) -> np.ndarray:
    """Untargeted FGM with the true labels `y`, pixels clipped to [clip_min, clip_max].

    `norm` is np.inf (FGS) or 2 (FG); `model_fn` maps images to logits.
    """
    if norm not in (np.inf, 1, 2):
        raise ValueError(f"norm must be np.inf, 1 or 2, got {norm!r}")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)} labels")
    if eps == 0:
        return np.clip(np.asarray(x, np.float32), clip_min, clip_max)
    out = np.empty_like(np.asarray(x, np.float32))
    eps_t = tf.constant(eps, tf.float32)
    for i in range(0, len(x), batch_size):
        out[i:i + batch_size] = _compiled(
            model_fn, tf.constant(x[i:i + batch_size], tf.float32), eps_t, norm,
            clip_min=clip_min, clip_max=clip_max, y=tf.constant(y[i:i + batch_size], tf.int64)).numpy()
    return out
