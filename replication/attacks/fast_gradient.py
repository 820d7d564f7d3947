"""CleverHans' fast gradient method (FGS for L-inf, FG for L2), batched and compiled."""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf
from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method

from replication.defenses.base import as_scorer, box_of
from replication.defenses.inputs import check_eps, check_images, check_labels

_compiled = tf.function(fast_gradient_method, reduce_retracing=True)


def fast_gradient(target, x: np.ndarray, y: np.ndarray, eps: float, norm, clip_min: Optional[float] = None,
                  clip_max: Optional[float] = None, batch_size: int = 512) -> np.ndarray:
    """Untargeted FGM with the true labels `y`, pixels clipped to [clip_min, clip_max] (default: the defense's
    input range, else [0, 1]).

    `norm` is np.inf (FGS) or 2 (FG). `target`: a defense (its network's own output is differentiated: a
    non-adaptive attack), a Keras classifier or a callable x -> logits.
    """
    scorer = as_scorer(target)
    model_fn = scorer.logits
    lo, hi = box_of(target)
    clip_min, clip_max = (lo if clip_min is None else clip_min), (hi if clip_max is None else clip_max)
    if norm not in (np.inf, 1, 2):
        raise ValueError(f"norm must be np.inf, 1 or 2, got {norm!r}")
    eps = check_eps(eps)
    x = check_images(x, (clip_min, clip_max), scorer.input_shape)
    y = check_labels(y, len(x), scorer.classes)
    if eps == 0:
        return np.clip(np.asarray(x, np.float32), clip_min, clip_max)
    out = np.empty_like(np.asarray(x, np.float32))
    eps_t = tf.constant(eps, tf.float32)
    for i in range(0, len(x), batch_size):
        out[i:i + batch_size] = _compiled(
            model_fn, tf.constant(x[i:i + batch_size], tf.float32), eps_t, norm,
            clip_min=clip_min, clip_max=clip_max, y=tf.constant(y[i:i + batch_size], tf.int64)).numpy()
    return out
