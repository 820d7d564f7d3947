"""The background-class defense (McCoyd & Wagner 2018): a classifier trained with one extra class of
non-confusing images; a sample it assigns to that class is rejected (detected)."""
from __future__ import annotations

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from replication.defenses.base import Box, Defense, pre_softmax, register, with_reject


@register
class BackgroundClass(Defense):
    """Any Keras classifier whose output has one background logit (at `background`) beside the class logits.

    `input_range`: the range of the images this defense takes (and attacks stay in); `model_range`: the range the
    network was trained on (the Table II net's [-0.5, 0.5]), reached by a shift and scale; None: the same.
    `threshold` (0 by default, the paper's argmax rule): reject when background logit + threshold >= top class.
    A softmax output is read through its logits (`pre_softmax`).
    """

    def __init__(self, model: keras.Model, background: int, input_range: Box = (0.0, 1.0),
                 model_range: Optional[Box] = None, threshold: float = 0.0):
        outputs = int(model.output_shape[-1])
        if not 0 <= background < outputs:
            raise ValueError(f"background index {background} is outside the model's {outputs} outputs")
        self.background, self.threshold = int(background), float(threshold)
        self.input_range = tuple(input_range)
        self.model_range = tuple(model_range or input_range)
        self.order = [i for i in range(outputs) if i != self.background]
        self._attach(model)

    def _attach(self, model: keras.Model) -> None:
        self.model, self.net = model, pre_softmax(model)

    @property
    def classes(self) -> int:
        return len(self.order)

    def _logits(self, x: tf.Tensor) -> tf.Tensor:
        """The network's logits (background logit at its index; pre-softmax when the network ends in softmax):
        what a non-adaptive attacker sees."""
        return tf.cast(self.net(self._to_model(x), training=False), tf.float32)

    def _scores(self, x: tf.Tensor) -> tf.Tensor:
        z = self._logits(x)
        return with_reject(tf.gather(z, self.order, axis=1), z[:, self.background] + self.threshold)

    def set_threshold(self, x_val: np.ndarray, reject_rate: float) -> float:
        """The threshold at which `reject_rate` of these clean samples are rejected (0 is the paper's rule)."""
        if not 0.0 <= reject_rate < 1.0:
            raise ValueError(f"reject_rate must lie in [0, 1), got {reject_rate}")
        self.threshold = 0.0
        self._scorer = None
        s = self.scores(x_val)
        margin = s[:, :-1].max(1) - s[:, -1]
        self.threshold = float(np.quantile(margin, reject_rate))
        self._scorer = None
        return self.threshold

    def state(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("model", "net", "_scorer")}
