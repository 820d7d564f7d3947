"""`paper` is the published protocol; `fast` changes only counts, `smoke` also declares its subsampled pool."""
import dataclasses

import pytest

from replication.reporting import deviations
from replication.runs import protocols

COUNT_FIELDS = {"splits", "epochs", "selection_per_class", "selection_folds", "selection_repeats",
                "selection_epochs", "curve_samples", "fgs_grid", "fg_grid", "carlini"}
CARLINI_COUNT_FIELDS = {"per_class", "epochs", "sources", "binary_search_steps", "max_iterations", "batch_size"}


def test_paper_protocol_is_the_published_one():
    p = protocols.background("paper")
    assert (p.pool_split, p.splits, p.test_fraction, p.epochs, p.batch_size) == ("train", 10, 0.1, 10, 128)
    assert (p.selection_folds, p.selection_repeats, p.selection_epochs, p.selection_threshold) == (10, 4, 20, 0.98)
    assert (p.fgs_eps, p.fg_eps, p.letters) == (0.25, 6.79, "measured")
    assert p.fgs_eps in p.fgs_grid and p.fg_eps in p.fg_grid
    c = p.carlini
    got = (c.binary_search_steps, c.max_iterations, c.learning_rate, c.initial_const, c.confidence)
    assert got == (9, 1000, 1e-2, 1e-3, 0.0)
    assert c.per_class is None and p.pool_limit is None and p.curve_samples is None


@pytest.mark.parametrize("level", ["fast", "smoke"])
def test_reduced_protocols_change_counts_or_declare_it(level):
    """Counts only, or a method change the report's generated deviations section names."""
    paper, other = protocols.background("paper"), protocols.background(level)
    changed = {f.name for f in dataclasses.fields(paper) if getattr(paper, f.name) != getattr(other, f.name)}
    declared = set(deviations.BACKGROUND_METHOD_FIELDS)
    assert changed - {"level"} <= COUNT_FIELDS | declared
    items = deviations.protocol_items(paper.to_dict(), other.to_dict(), deviations.BACKGROUND_METHOD_FIELDS)
    for field in changed & declared:
        assert any(item.startswith(f"**method**: `{field}:") for item in items), field
    c_changed = {f.name for f in dataclasses.fields(paper.carlini)
                 if getattr(paper.carlini, f.name) != getattr(other.carlini, f.name)}
    assert c_changed <= CARLINI_COUNT_FIELDS
    assert other.fgs_eps in other.fgs_grid and other.fg_eps in other.fg_grid


def test_fast_background_changes_only_counts():
    items = deviations.protocol_items(protocols.background("paper").to_dict(), protocols.background("fast").to_dict(),
                                      deviations.BACKGROUND_METHOD_FIELDS)
    assert items and not [i for i in items if i.startswith("**method**")]


def test_protocol_record_and_unknown_level():
    assert protocols.background("fast").to_dict()["carlini"]["max_iterations"] == 300
    with pytest.raises(ValueError, match="unknown protocol"):
        protocols.background("quick")


def test_scope_names_what_it_leaves_out():
    dnr = protocols.dnr("paper")
    assert protocols.WHOLE.left_out(dnr) == [] and protocols.WHOLE.left_out(protocols.background("paper")) == []
    scope = protocols.Scope(runs=1, datasets=("mnist",))
    assert scope.left_out(dnr) == ["mnist: 4 of 5 runs (computed the first 1)", "cifar10 (the whole dataset)"]
    assert protocols.Scope(splits=1).left_out(protocols.background("paper")) == [
        "9 of 10 splits (computed the first 1)"]
    assert protocols.Scope(runs=9).runs_of("mnist", 5) == 5 and protocols.Scope(runs=2).runs_of("mnist", 5) == 2
    with pytest.raises(ValueError, match="--folds must be at least 1"):
        protocols.Scope(folds=0).count("folds", 40)
    with pytest.raises(ValueError, match="--splits must be at least 0"):
        protocols.Scope(splits=-1).count("splits", 10)


def test_runs_per_dataset_and_zero_runs_for_a_network_alone():
    dnr = protocols.dnr("paper")
    scope = protocols.Scope(runs=(("cifar10", 0),))
    assert scope.runs_of("cifar10", 5) == 0 and scope.runs_of("mnist", 5) == 5  # a dataset not named: whole
    assert scope.left_out(dnr) == ["cifar10: every run (`--runs` 0: its network alone)"]
    both = protocols.Scope(runs=(("mnist", 2), ("cifar10", 0)))
    assert both.left_out(dnr) == ["mnist: 3 of 5 runs (computed the first 2)",
                                  "cifar10: every run (`--runs` 0: its network alone)"]
    assert protocols.Scope(runs=0).runs_of("mnist", 5) == 0
    with pytest.raises(ValueError, match="--runs must be at least 0"):
        protocols.Scope(runs=(("mnist", -1),)).runs_of("mnist", 5)


def test_zero_splits_stop_a_measured_letters_run_after_its_selection():
    paper = protocols.background("paper")
    stop = protocols.Scope(splits=0)
    assert stop.partial_selection(paper) and stop.whole_selection(paper)
    assert stop.left_out(paper) == ["every split and the Carlini-Wagner stage (`--splits 0`: the run stops after its "
                                    "letter selection)"]
    inside = protocols.Scope(folds=3)
    assert inside.partial_selection(paper) and not inside.whole_selection(paper)
    assert not protocols.WHOLE.partial_selection(paper) and not protocols.Scope(splits=1).partial_selection(paper)
    with pytest.raises(ValueError, match="--letters published skips"):
        stop.partial_selection(dataclasses.replace(paper, letters="published"))
