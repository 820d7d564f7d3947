"""The package's Carlini-Wagner L2 against a reference written from Carlini & Wagner's own code
(benchmarks/cw_reference.py): without early abort the two are the same algorithm and must agree."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from cw_reference import reference_cw_l2  # noqa: E402

from replication.attacks import FixedCarliniWagnerL2  # noqa: E402


def test_without_abort_the_package_equals_the_reference(small_model, correct_samples):
    x, y = correct_samples[0][:12], correct_samples[1][:12]
    targets = (y + 1) % 10
    budget = dict(binary_search_steps=3, max_iterations=60, learning_rate=5e-2, initial_const=1.0, confidence=0.0)
    box = (-0.5, 0.5)
    _, found_pkg, l2_pkg = FixedCarliniWagnerL2(lambda v: small_model(v, training=False), y=targets, targeted=True,
                                                batch_size=12, abort_early=False, clip_min=box[0], clip_max=box[1],
                                                **budget).attack_with_info(x)
    _, found_ref, l2_ref = reference_cw_l2(lambda v: small_model(v, training=False), x, targets, 10, box,
                                           abort_early=False, **budget)
    assert found_ref.sum() >= 4
    np.testing.assert_array_equal(found_pkg, found_ref)
    np.testing.assert_allclose(l2_pkg, l2_ref, rtol=1e-3, atol=1e-4)
