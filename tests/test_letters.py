"""Confusing-letter selection (Section IV.A) on data made by the test."""
import numpy as np

from replication.background import letters
from replication.data import EMNIST_CHARS


def test_rates_count_any_letter_as_letter():
    true = np.array([EMNIST_CHARS.index("O")] * 4 + [EMNIST_CHARS.index("T")] * 2)
    pred = np.array([0, 0, EMNIST_CHARS.index("Q"), EMNIST_CHARS.index("O"), EMNIST_CHARS.index("T"),
                     EMNIST_CHARS.index("t")])
    rates = letters.letter_rates(letters.confusion(true, pred))
    assert rates["O"] == 0.5 and rates["T"] == 1.0
    assert letters.select({"O": 0.5, "T": 1.0, "e": 0.98}, 0.98) == "Te"


def test_cross_validation_covers_every_sample_once_per_repeat():
    labels = np.repeat(np.arange(47), 6)
    seen = np.zeros(len(labels), int)
    names = []
    for name, train, test in letters.fold_units(labels, folds=3, repeats=2, seed=0):
        assert not np.intersect1d(train, test).size
        seen[test] += 1
        names.append(name)
    assert (seen == 2).all() and len(set(names)) == 6


def test_run_selection_with_a_predictor_that_confuses_O():
    labels = np.repeat(np.arange(47), 6)

    def fit_predict(name, train, test):
        pred = labels[test].copy()
        pred[pred == EMNIST_CHARS.index("O")] = 0
        return pred

    rates = letters.letter_rates(letters.run_selection(labels, 3, 1, 0, fit_predict))
    kept = letters.select(rates, 0.98)
    assert "O" not in kept and len(kept) == 36
    agree = letters.agreement(kept, "TtUdEPfFXHCnhAKMVWeRrN", "OLqIgZSYGbDBJaQ")
    assert agree["of"] == 37 and agree["agree"] == 22 + 1
