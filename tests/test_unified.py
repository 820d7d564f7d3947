"""Unified comparison: detector margins and outcomes, the attack table, and the smoke pipeline end to end."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from replication.defenses import Scorer, with_reject
from replication.runs import protocols
from replication.runs.results import load_unit
from replication.unified import attacks, detectors, experiment


def _table2_like(classes: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(classes)])


def test_background_margin_is_max_digit_minus_background_logit():
    model = _table2_like(11)
    defense = detectors.table2_defense(model)
    x = np.random.default_rng(0).random((6, 28, 28, 1)).astype(np.float32)
    z = model(x - 0.5).numpy()
    np.testing.assert_allclose(defense.scorer(tf.constant(x)).numpy(), z, rtol=1e-5, atol=1e-5)  # background last
    np.testing.assert_allclose(defense.scorer.logits(tf.constant(x)).numpy(), z, rtol=1e-5, atol=1e-5)
    pred, margin = detectors.predict(defense, x)
    np.testing.assert_allclose(margin, z[:, :10].max(1) - z[:, 10], rtol=1e-5, atol=1e-5)
    assert ((margin <= 0) == (z.argmax(1) == 10)).all()  # detected exactly when the background class wins


def test_undefended_never_detects_and_nr_margin_uses_theta():
    defense = detectors.table2_defense(_table2_like(10))
    assert not defense.scorer.rejects
    assert np.isinf(detectors.predict(defense, np.zeros((2, 28, 28, 1), np.float32))[1]).all()
    scorer = Scorer(lambda x: with_reject(tf.reshape(x, [tf.shape(x)[0], -1])[:, :3], 0.5), name="nr")
    x = np.array([[0.1, 0.9, 0.2], [0.3, 0.4, 0.1]], np.float32)
    np.testing.assert_allclose(scorer(tf.constant(x)).numpy(), [[0.1, 0.9, 0.2, 0.5], [0.3, 0.4, 0.1, 0.5]],
                               atol=1e-6)  # theta as the reject column
    margin = scorer(tf.constant(x)).numpy()[:, :3].max(1) - 0.5
    np.testing.assert_allclose(margin, [0.4, -0.1], atol=1e-6)


def test_outcomes_split_every_sample_once():
    pred, y = np.array([1, 2, 3, 4]), np.array([1, 0, 3, 0])
    margin = np.array([1.0, 1.0, -1.0, 0.0])
    out = detectors.outcomes(pred, margin, y)
    assert out == {"correct": 25.0, "other_digit": 25.0, "detected": 50.0}


def test_first_below_and_unknown_attack():
    assert experiment.first_below([0, 1, 2, 3], [30, 60, 40, 5], 50) == 2
    assert experiment.first_below([0, 1], [99, 80], 10) is None
    with pytest.raises(KeyError):
        attacks.attack_for("cw", None, protocols.unified("smoke"))


def test_unified_protocols_share_the_dnr_counts():
    for level in protocols.LEVELS:
        p = protocols.unified(level)
        assert p.dnr.mnist.runs == 1 and p.dnr.mnist.dnn_train == protocols.dnr(level).mnist.dnn_train
    paper = protocols.unified("paper")
    assert 0.25 in paper.linf_grid and 6.79 in paper.l2_grid and paper.background_epochs == 10


def test_smoke_run_writes_every_part(unified_smoke_run, data_dir):
    out, r = unified_smoke_run
    assert r["units"]["expected"] == r["units"]["visited"] > 0  # the progress line's total is right
    report = (out / "report.md").read_text()
    for heading in ("## 1. The background class", "## 2. One axis", "## 3. Reject-threshold", "collapse",
                    "Attack-strength check", "Reject-aware objective", "reject_aware_linf"):
        assert heading in report
    for name in r["figures"].values():
        assert (out / name).stat().st_size > 1000
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["axis"]["points"]) == {"baseline", "background", "dnn", "nr", "dnr"}
    assert not list(out.glob("models/*_svms.npz"))  # a whole run drops its SVMs' stored support
    for heading in ("Control: does the background class learn EMNIST's style?", "Worst case of the axis's attacks",
                    "Deviations from the paper", "adaptive - weak / 2 (paired)"):
        assert heading in report, heading
    from replication.reporting import summary
    assert "**Unified axis**" in "\n".join(summary.unified(saved))
    control = saved["style_control"]  # seed-0 regression ranges (measured 91% and 59%)
    assert control["separability"]["correct"] / control["separability"]["n"] >= 0.85
    bg = control["background_on_emnist_digits"]
    assert 0.4 <= bg["detected"] / bg["n"] <= 0.8
    for m, lowest in saved["axis"]["worst_case"].items():
        curves = [saved["axis"]["points"][m], saved["axis"]["restart"][m], saved["axis"]["reject_aware"].get(m, [])]
        assert all(low <= pt["accuracy"] + 1e-9 for c in curves for low, pt in zip(lowest, c))
    for curve in saved["curves"]["background"].values():
        for pt in curve:
            assert pt["correct"] + pt["other_digit"] + pt["detected"] == pytest.approx(100.0)
    again = experiment.run(protocols.unified("smoke"), out, data_dir, seed=0)  # resumes: nothing recomputed
    assert len(again["resumed_units"]) >= len(list((out / "units").rglob("*.json")))


def test_records_keep_every_field_of_results_and_units(unified_smoke_run):
    """The typed records read and write results.json and each kind of unit file unchanged."""
    from replication.evaluation import Point
    from replication.runs.results import jsonable
    from replication.unified import records
    out, _ = unified_smoke_run
    same = lambda record, saved: json.loads(json.dumps(jsonable(record))) == saved  # noqa: E731
    saved = json.loads((out / "results.json").read_text())
    assert same(records.axis(saved), saved["axis"]) and same(records.curves(saved), saved["curves"])
    assert saved["axis"]["restart"] and saved["axis"]["reject_aware"]  # the optional parts are among those checked
    units = [load_unit(p)["result"] for p in (out / "units").rglob("eps*.json")]
    restarts = [u for u in units if "restart_gain" in u]
    assert restarts and all(same(records.RestartPoint.from_dict(u), u) for u in restarts)
    points = [u for u in units if "outcome" in u]  # each attack point's unit is the library's Point
    assert points and all(same(Point.from_dict(u), u) for u in points)


def test_style_control_tells_separable_styles_from_one_style():
    from replication.unified import style
    rng = np.random.default_rng(0)
    a = rng.integers(0, 200, (600, 28, 28, 1)).astype(np.uint8)
    same = style.style_separability(a[:300], a[300:], seed=0)
    framed = a[300:].copy()
    framed[:, :3] = 255  # a frame only one "style" has
    other = style.style_separability(a[:300], framed, seed=0)
    assert other["correct"] / other["n"] > 0.95 and same["correct"] / same["n"] < 0.7


def test_style_control_counts_detections_on_emnist_digits():
    from replication.defenses import Defense
    from replication.unified import style
    images = np.zeros((4, 28, 28, 1), np.uint8)
    images[:2] = 255  # bright images: the fake defense's reject score beats its digit 0 score on them

    class Fake(Defense):
        def _scores(self, x):
            digits = tf.one_hot(tf.zeros(tf.shape(x)[0], tf.int32), 10) * 0.5
            return with_reject(digits, tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), 1))

    out = style.background_on_emnist_digits(Fake(), images, np.array([0, 0, 0, 1]))
    assert out == {"detected": 2, "correct": 1, "n": 4}


def test_worst_case_claims_use_every_attack_per_sample():
    from replication.unified import claims
    from replication.unified.records import AttackPoint, Axis, RestartPoint
    y = np.array([0, 0, 0, 0])
    point = lambda eps, pred, margin: AttackPoint(eps, 0.0, 0.0, 0.0, 0.0, 0.0, np.array(pred),  # noqa: E731
                                                  np.array(margin), {})
    clean = point(0.0, [0, 0, 0, 0], [1.0, 1.0, 1.0, -1.0])
    adv = point(1.0, [1, 0, 0, 0], [1.0, 1.0, 1.0, 1.0])        # evades sample 0
    aware = point(1.0, [0, 1, 0, 0], [1.0, 1.0, -1.0, 1.0])      # evades 1; 2 detected
    restart = RestartPoint(1.0, 0.0, 0.0, 0, np.array([0, 0, 0, 1], bool))  # evades 3
    axis = Axis([0.0, 1.0], {"nr": [clean, adv]}, {"nr": [RestartPoint(0.0, 0.0, 0.0, 0, np.zeros(4, bool)),
                                                          restart]},
                {"nr": [clean, aware]}, {}, {}, [], [], [], {})
    c = claims.correct_per_sample(axis, "nr", y)
    assert c[:, 0].tolist() == [1, 1, 1, 0] and c[:, 1].tolist() == [0, 0, 1, 0]

