"""Train (or reload) one Table II network; checkpoints make a killed run resume."""
from __future__ import annotations

import sys
import weakref
from pathlib import Path

import keras
import numpy as np

from keras_models.background import build_background_net, compile_background_net
from replication.results import load_or_train

PIXELS = (-0.5, 0.5)


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 EMNIST images -> float32 in [-0.5, 0.5] (Section IV)."""
    return images.astype(np.float32) / 255.0 - 0.5


def train_or_load(path: Path, images: np.ndarray, labels: np.ndarray, num_classes: int,
                  epochs: int, batch_size: int, seed: int) -> keras.Model:
    """The trained model saved at `path`, training it first if it is not there yet."""
    def train() -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = compile_background_net(build_background_net(num_classes))
        model.fit(to_input(images), labels, batch_size=batch_size, epochs=epochs, shuffle=True,
                  verbose=1 if sys.stdout.isatty() else 2)
        return model

    return load_or_train(path, train)


_LOGITS_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


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
