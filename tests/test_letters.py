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


def test_a_letter_is_decided_only_when_its_interval_clears_the_threshold():
    labels = np.repeat(np.arange(47), 100)
    t = EMNIST_CHARS.index("T")
    pred = labels.copy()
    pred[labels == EMNIST_CHARS.index("O")] = 0                       # O: always a digit
    pred[np.flatnonzero(labels == t)[:2]] = 0                          # T: 98 of 100 as a letter
    counts = letters.letter_counts(letters.confusion(labels, pred), labels)
    assert counts["T"] == {"tested": 100, "as_letter": 98, "distinct": 100}
    assert letters.decision(counts["O"], 0.98) == "removed" and letters.decision(counts["e"], 0.9) == "kept"
    assert letters.decision(counts["T"], 0.98) == "undecided"          # 98% [93.0, 99.4] straddles 98%
    assert letters.verdict("removed", "O") == "supported" and letters.verdict("kept", "O") == "contradicted"
    assert letters.verdict("undecided", "T") == "inconclusive"
    judgements = letters.judged(counts, 0.98)                          # 100 of 100 [96.3, 100] straddles 98% too
    assert judgements["O"] == ("removed", "supported") and judgements["T"] == judgements["e"] == \
        ("undecided", "inconclusive")
    assert letters.verdict_counts(judgements) == {"inconclusive": 36, "supported": 1}
    judgements = letters.judged(counts, 0.9)
    assert judgements["e"] == ("kept", "supported") and judgements["L"] == ("kept", "contradicted")
    assert letters.verdict_counts(judgements) == {"contradicted": 14, "supported": 23}
    twice = letters.letter_counts(2 * letters.confusion(labels, pred), labels)  # a second repeat of the same samples
    assert twice["T"]["distinct"] == 100 and letters.rate_interval(twice["T"]).text() == \
        letters.rate_interval(counts["T"]).text()                      # narrows nothing


def test_a_selection_limited_to_its_first_folds_counts_only_their_test_samples():
    labels = np.repeat(np.arange(47), 6)
    seen = []
    matrix = letters.run_selection(labels, 3, 2, 0, lambda name, train, test: seen.append(name) or labels[test],
                                   limit=2)
    assert seen == ["repeat0_fold0", "repeat0_fold1"] and matrix.sum() == 2 * len(labels) // 3
