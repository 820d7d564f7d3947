"""The papers' networks as Keras builder functions."""
from replication.quiet import import_tensorflow

import_tensorflow()

from keras_models.background import build_background_net  # noqa: E402
from keras_models.dnr import FEATURE_LAYERS, build_cifar_net, build_mnist_net  # noqa: E402

__all__ = ["FEATURE_LAYERS", "build_background_net", "build_cifar_net", "build_mnist_net"]
