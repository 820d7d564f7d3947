"""Data assembly (Table I): relabelling, 90:10 splits, counts."""
import numpy as np
import pytest

from replication.background import assembly
from replication.data import EMNIST_CHARS, load


def test_relabel_digits_background_and_dropped():
    labels = np.array([0, 9, EMNIST_CHARS.index("T"), EMNIST_CHARS.index("O"), EMNIST_CHARS.index("t")])
    assert assembly.relabel(labels, "Tt").tolist() == [0, 9, 10, -1, 10]


def test_unknown_letter_is_an_error():
    with pytest.raises(ValueError, match="not EMNIST By Merge letter classes"):
        assembly.relabel(np.array([0]), "Tc")  # 'c' is merged into 'C' in By Merge


def test_real_pool_splits(data_dir):
    ds = load("emnist/bymerge", "test", str(data_dir))
    labels = assembly.relabel(ds.labels, "TtUdEPfFXHCnhAKMVWeRrN")
    split = assembly.make_split(labels, 0.1, seed=3)
    assert not np.intersect1d(split.train, split.test).size
    usable = (labels >= 0).sum()
    assert len(split.train) + len(split.test) == usable
    assert abs(len(split.test) - 0.1 * usable) <= 1
    sets = assembly.split_sets(labels, split)
    counts = assembly.table1_counts(labels, sets)
    assert (labels[sets["baseline_train"]] < 10).all() and (labels[sets["test"]] < 10).all()
    assert counts["defense/train_digits"] == counts["baseline/train_digits"]
    assert counts["defense/train_digits"] + counts["defense/train_letters"] == len(split.train)
    assert counts["baseline/test_digits"] + counts["baseline/train_digits"] == 57527
    assert not (labels[sets["defense_train"]] < 0).any()
    other = assembly.make_split(labels, 0.1, seed=4)
    assert not np.array_equal(other.test, split.test)
    assert np.array_equal(assembly.make_split(labels, 0.1, seed=3).test, split.test)


def test_balanced_sample_caps_every_class():
    labels = np.array([0] * 50 + [1] * 5 + [2] * 20)
    idx = assembly.balanced_sample(labels, 10, seed=0)
    assert np.bincount(labels[idx]).tolist() == [10, 5, 10]
    assert len(assembly.balanced_sample(labels, None, seed=0)) == 75


def test_an_equal_sample_gives_every_class_the_smallest_count():
    labels = np.array([0] * 50 + [1] * 5 + [2] * 20)
    assert np.bincount(labels[assembly.balanced_sample(labels, None, 0, equal=True)]).tolist() == [5, 5, 5]
    assert np.bincount(labels[assembly.balanced_sample(labels, 3, 0, equal=True)]).tolist() == [3, 3, 3]


def test_the_letter_selections_stand_in_is_class_balanced_and_each_sample_says_what_it_is(monkeypatch):
    """Offline, the selection's stand-in for EMNIST Balanced is an equal-count sample of the pool (its letter rates
    depend on the class priors); the whole pool, By Merge's priors, is said to be not class-balanced."""
    from replication.data import DataError

    def offline(*args):
        raise DataError("no EMNIST Balanced")
    monkeypatch.setattr(assembly, "load", offline)
    labels = np.array([0] * 50 + [1] * 5 + [12] * 20)
    pool = assembly.Pool(np.zeros((75, 28, 28), np.uint8), labels, "test", "raw files")
    _, picked, origin = assembly.selection_data(pool, None, None, 0)
    assert np.bincount(picked).tolist()[:2] == [5, 5] and (picked == 12).sum() == 5
    assert origin.startswith("a class-balanced sample of the pool (By Merge test, 5 of every class)")
    _, picked, origin = assembly.balanced_data(pool, None, None, 0)
    assert len(picked) == 75 and "whole, not class-balanced" in origin
    _, picked, origin = assembly.balanced_data(pool, 10, None, 0)
    assert len(picked) == 25 and "at most 10 of every class, not class-balanced" in origin


def test_table_fractions_of_outcomes_equal_the_fractions_of_predictions():
    """Table III's categories read from the library's per-sample outcomes (how the weak-attack sweeps count) equal
    those read from the predictions (how the clean rows count), ties between background and top digit included."""
    import keras

    from replication.background.outcomes import outcome_fractions, table_fractions
    from replication.background.training import classify
    from replication.defenses import BackgroundClass, Undefended
    from replication.evaluation import outcome

    rng = np.random.default_rng(0)
    logits = rng.uniform(-1, 1, size=(300, 11)).astype(np.float32)
    logits[:20, 10] = logits[:20, :10].max(1)  # a tie: the defense predicts background
    y = rng.integers(0, 10, 300)
    identity = keras.Sequential([keras.Input((11,)), keras.layers.Identity()])
    digits = keras.Sequential([keras.Input((11,)), keras.layers.Lambda(lambda z: z[:, :10])])
    box = (-1.0, 1.0)
    for defense in (BackgroundClass(identity, 10, input_range=box), Undefended(digits, input_range=box)):
        expected = outcome_fractions(classify(defense, logits), y)
        assert table_fractions(outcome(defense.scores(logits), y)) == expected
    assert outcome_fractions(classify(BackgroundClass(identity, 10, input_range=box), logits), y)["background"] > 6
