"""Defenses with a reject option, each owning its Keras network, in scikit-learn habits.

`NR`, `DNR` (Sotgiu et al. 2020), `BackgroundClass` (McCoyd & Wagner 2018) and `Undefended` (a plain network
under the same API). Every defense's `scorer` maps images to (n, classes + 1) differentiable scores, the reject
score last; `predict` gives REJECT (-1) where that column wins.
"""
from replication.defenses.background_class import BackgroundClass
from replication.defenses.base import (
                                      REJECT,
                                      Defense,
                                      Scorer,
                                      Undefended,
                                      as_scorer,
                                      decide,
                                      evaded,
                                      scores_of,
                                      with_reject,
)
from replication.defenses.rejection import DNR, NR, layer_outputs, stacked_scores
from replication.defenses.svm import TFRBFSVM, rbf_ovr, select_params

__all__ = ["REJECT", "BackgroundClass", "DNR", "Defense", "NR", "Scorer", "TFRBFSVM", "Undefended", "as_scorer",
           "decide", "evaded", "layer_outputs", "rbf_ovr", "scores_of", "select_params", "stacked_scores",
           "with_reject"]
