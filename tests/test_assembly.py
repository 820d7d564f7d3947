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
