"""The papers' networks as Keras builder functions."""
from keras_models.background import build_background_net

__all__ = ["build_background_net"]
