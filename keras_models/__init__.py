"""The papers' networks as Keras builder functions."""
from keras_models.background import build_background_net
from keras_models.dnr import FEATURE_LAYERS, build_cifar_net, build_mnist_net, feature_extractor

__all__ = ["FEATURE_LAYERS", "build_background_net", "build_cifar_net", "build_mnist_net", "feature_extractor"]
