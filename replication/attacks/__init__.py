"""Attacks as plain functions of a model (CleverHans v4 style)."""
from replication.attacks.carlini_wagner_l2 import FixedCarliniWagnerL2, carlini_wagner_l2
from replication.attacks.fast_gradient import fast_gradient

__all__ = ["FixedCarliniWagnerL2", "carlini_wagner_l2", "fast_gradient"]
