"""`make spread`'s comparison of configurations (the runs themselves need the data and minutes)."""
import pytest

from replication.runs.spread import summarise


def test_summary_compares_every_configuration_with_the_first():
    runs = [{"threads": 2, "deterministic": False, "logits": [[0.0, 1.0]], "accuracy": 50.0, "n": 100, "seconds": 10.0},
            {"threads": 1, "deterministic": True, "logits": [[0.5, 1.0]], "accuracy": 53.0, "n": 100, "seconds": 15.0}]
    first, second = summarise(runs)
    assert first["max_logit_difference"] == 0.0 and first["accuracy_difference"] == 0.0
    assert second["max_logit_difference"] == 0.5 and second["accuracy_difference"] == 3.0
    assert second["time_ratio"] == pytest.approx(1.5) and second["binomial_half_width"] == pytest.approx(9.5, abs=0.2)
