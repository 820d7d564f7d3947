"""Evaluating defenses under attack: per-sample outcomes, security evaluation curves, the threshold trade-off and
the sanity checks."""
from replication.evaluation import checks
from replication.evaluation.outcomes import CORRECT, EVADED, REJECTED, accurate, outcome, outcome_of, worst
from replication.evaluation.security import (
                                             MinimumNorm,
                                             Point,
                                             SecurityEvaluation,
                                             distance,
                                             evaluate_point,
                                             security_evaluation,
)
from replication.evaluation.tradeoff import threshold_tradeoff

__all__ = ["CORRECT", "EVADED", "MinimumNorm", "Point", "REJECTED", "SecurityEvaluation", "accurate", "checks",
           "distance", "evaluate_point", "outcome", "outcome_of", "security_evaluation", "threshold_tradeoff", "worst"]
