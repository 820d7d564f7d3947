"""The Table II network's inputs, logits and predictions."""
from __future__ import annotations

import weakref

import keras
import numpy as np

from replication.stages import PIXELS, to_input, train_table2_net

__all__ = ["PIXELS", "logits_fn", "predict", "to_input", "train_table2_net"]


_LOGITS_FNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def logits_fn(model: keras.Model):
    """The model in inference mode (batch norm uses its moving statistics), returning logits.

    One callable per model, so compiled attacks keyed on it are traced once.
    """
    if model not in _LOGITS_FNS:
        _LOGITS_FNS[model] = lambda x: model(x, training=False)
    return _LOGITS_FNS[model]


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Predicted labels of float inputs."""
    return model.predict(x, batch_size=batch_size, verbose=0).argmax(1)
