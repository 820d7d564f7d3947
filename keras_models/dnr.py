"""Sotgiu et al.'s networks (Table 1, 2): Carlini's MNIST net and the light CIFAR-10 net, logits out."""
from __future__ import annotations

from typing import Dict, List

import keras
from keras import layers

from replication.runs.protocols import PAPER_LAYERS

# Layers whose outputs feed the SVMs (the paper's choice, Section 4.1.3); NR uses the last one.
FEATURE_LAYERS: Dict[str, List[str]] = {name: list(layers) for name, layers in PAPER_LAYERS.items()}


def build_mnist_net() -> keras.Model:
    """Conv32-Conv32-MaxPool-Conv64-Conv64-MaxPool-FC200-FC200-Softmax10 (ReLU, dropout 0.5)."""
    return keras.Sequential([
        keras.Input((28, 28, 1), name="image"),
        layers.Conv2D(32, 3, activation="relu", name="conv1"),
        layers.Conv2D(32, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv3"),
        layers.Conv2D(64, 3, activation="relu", name="conv4"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(200, name="fc1"),
        layers.ReLU(name="fc1_relu"),
        layers.Dropout(0.5, name="dropout"),
        layers.Dense(200, name="fc2"),
        layers.ReLU(name="fc2_relu"),
        layers.Dense(10, name="logits"),
    ], name="carlini_mnist")


# The paper does not give the batch-norm momentum. The authors' library (secml, PyTorch) builds this net with
# BatchNorm2d(momentum=0.9): PyTorch weighs the new batch by 0.9, i.e. Keras momentum 0.1. Keras' default 0.99
# leaves the moving statistics far behind the weights after a few epochs (measured: 19% test accuracy in
# inference mode vs 47% in training mode after 3 epochs on 10,000 images).
CIFAR_BN_MOMENTUM = 0.1


def _conv_block(filters: int, name: str) -> List[layers.Layer]:
    return [layers.Conv2D(filters, 3, padding="same", name=f"conv{name}"),
            layers.BatchNormalization(momentum=CIFAR_BN_MOMENTUM, name=f"bn{name}"), layers.ReLU(name=f"relu{name}")]


def build_cifar_net() -> keras.Model:
    """[Conv64]x2-Pool-Drop.1, [Conv128]x2-Pool-Drop.2, [Conv256]x2-Pool-Drop.3, Conv512-Pool-Drop.4, FC512, Softmax10.

    Every conv is followed by batch norm and ReLU.
    """
    stack: List[layers.Layer] = [keras.Input((32, 32, 3), name="image")]
    for block, (filters, drop) in enumerate(((64, 0.1), (128, 0.2), (256, 0.3)), start=1):
        stack += _conv_block(filters, f"{block}a") + _conv_block(filters, f"{block}b")
        stack += [layers.MaxPooling2D(2, name=f"pool{block}"), layers.Dropout(drop, name=f"drop{block}")]
    stack += _conv_block(512, "4") + [layers.MaxPooling2D(2, name="pool4"), layers.Dropout(0.4, name="drop4")]
    stack += [layers.Flatten(name="flatten"), layers.Dense(512, name="fc"), layers.ReLU(name="fc_relu"),
              layers.Dense(10, name="logits")]
    return keras.Sequential(stack, name="light_cifar10")


def compile_dnr_net(model: keras.Model, learning_rate: float) -> keras.Model:
    """SGD with momentum 0.9 (Table 2), softmax cross-entropy on the logits."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model
