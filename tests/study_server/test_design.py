"""Latin square, within-subject plans, seeded order, practice and attention checks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from study_server.design import CHECK, MAIN, PRACTICE, n_lists, plan_trials
from study_server.study import load_study
from tests.study_server.helpers import make_study


def test_latin_square_each_item_once_and_cells_balanced(tmp_path: Path) -> None:
    study = load_study(make_study(tmp_path / "s", n_items=6, attention_checks=[3, 5]))
    cells: Counter[tuple[str, str]] = Counter()
    for list_index in range(n_lists(study)):
        plan = plan_trials(study, list_index, seed=list_index * 7 + 1)
        main = [study.stimuli[t.stimulus_id] for t in plan if t.kind == MAIN]
        assert sorted(s.item_id for s in main) == study.items  # each item exactly once
        methods = Counter(s.method for s in main)
        assert max(methods.values()) - min(methods.values()) <= 1  # methods balanced within a participant
        cells.update((s.item_id, s.method) for s in main)
    assert set(cells.values()) == {1} and len(cells) == len(study.stimuli)  # every cell once per M lists


def test_plan_is_reproducible_from_the_seed_and_differs_between_seeds(tmp_path: Path) -> None:
    study = load_study(make_study(tmp_path / "s", n_items=8))
    assert plan_trials(study, 1, 42) == plan_trials(study, 1, 42)
    orders = {tuple(t.stimulus_id for t in plan_trials(study, 1, seed)) for seed in range(10)}
    assert len(orders) > 5


def test_checks_at_configured_positions_and_practice_first(tmp_path: Path) -> None:
    study = load_study(make_study(tmp_path / "s", practice_trials=2, attention_checks=[1, 4]))
    plan = plan_trials(study, 0, 3)
    assert [t.kind for t in plan[:2]] == [PRACTICE, PRACTICE]
    assert [t.trial_index for t in plan] == [-2, -1, 1, 2, 3, 4, 5, 6]
    checks = [t for t in plan if t.kind == CHECK]
    assert [t.trial_index for t in checks] == [1, 4]
    assert all(1 <= t.expected <= 5 for t in checks)
    assert [t.seq for t in plan] == list(range(len(plan)))


def test_within_design_shows_every_stimulus(tmp_path: Path) -> None:
    study = load_study(make_study(tmp_path / "s", design="within", attention_checks=[]))
    plan = plan_trials(study, 0, 5)
    assert sorted(t.stimulus_id for t in plan if t.kind == MAIN) == sorted(study.stimuli)
    assert n_lists(study) == 1


@settings(max_examples=25, deadline=None)
@given(n_items=st.integers(1, 7), n_methods=st.integers(1, 4), seed=st.integers(0, 2**62))
def test_latin_square_property(tmp_path_factory, n_items: int, n_methods: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    methods = ("aufx", "stargan", "ganimation", "cascade-efgan")[:n_methods]
    folder = make_study(tmp_path_factory.mktemp("s"), n_items=n_items, methods=methods, attention_checks=[])
    study = load_study(folder)
    for list_index in range(n_lists(study)):
        main = [t for t in plan_trials(study, list_index, seed) if t.kind == MAIN]
        assert len(main) == n_items
        assert len({study.stimuli[t.stimulus_id].item_id for t in main}) == n_items
