"""McCoyd & Wagner's EMNIST net (Table II): the Keras MNIST example, dropout -> batch norm."""
from __future__ import annotations

import keras
from keras import layers


def build_background_net(num_classes: int = 11, input_shape=(28, 28, 1)) -> keras.Model:
    """Conv32-BN-ReLU, Conv64-BN-ReLU, MaxPool, Dense128-BN-ReLU, Dense(num_classes)-BN.

    Returns a model whose outputs are logits (the final batch norm is the last layer).
    """
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
            layers.Conv2D(32, 3, name="conv1"),
            layers.BatchNormalization(name="bn1"),
            layers.ReLU(name="relu1"),
            layers.Conv2D(64, 3, name="conv2"),
            layers.BatchNormalization(name="bn2"),
            layers.ReLU(name="relu2"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, name="fc1"),
            layers.BatchNormalization(name="bn3"),
            layers.ReLU(name="relu3"),
            layers.Dense(num_classes, name="logits_dense"),
            layers.BatchNormalization(name="logits"),
        ],
        name=f"background_net_{num_classes}",
    )


def compile_background_net(model: keras.Model) -> keras.Model:
    """Adadelta with the Keras-2 defaults the paper used (lr 1.0, rho 0.95), CE from logits."""
    model.compile(
        optimizer=keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
