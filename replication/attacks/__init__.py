"""Attacks as plain functions or callables of a model (CleverHans v4 style), one module per attack."""
from replication.attacks import double_init
from replication.attacks.carlini_wagner_l2 import FixedCarliniWagnerL2, carlini_wagner_l2
from replication.attacks.fast_gradient import fast_gradient
from replication.attacks.reject_pgd import RejectPGD

__all__ = ["FixedCarliniWagnerL2", "RejectPGD", "carlini_wagner_l2", "double_init", "fast_gradient"]
