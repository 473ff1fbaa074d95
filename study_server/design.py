"""Per-participant trial plans: Latin square or within-subject, seeded order, practice, checks.

Latin square over item x method: items and methods are sorted; in list ``k`` item ``i`` is shown
with method ``(i + k) mod M``. Each participant sees each item once, and over any ``M``
consecutive lists every item x method cell is seen once, so methods are balanced across
participants. The order of trials is shuffled with ``random.Random(seed)``; the seed is stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from study_server.study import Study

PRACTICE, MAIN, CHECK = "practice", "main", "check"


@dataclass(frozen=True)
class PlannedTrial:
    """One trial of a participant's plan (``seq`` is the 0-based order of presentation)."""

    seq: int
    trial_index: int  # 1-based among main and check trials; -n..-1 for practice
    kind: str
    stimulus_id: str
    expected: int | None = None  # the instructed answer of an attention check


def n_lists(study: Study) -> int:
    """Number of counterbalancing lists (methods for a Latin square, 1 for within-subject)."""
    return len(study.methods) if study.design == "latin-square" else 1


def latin_square_stimuli(study: Study, list_index: int) -> list[str]:
    """The stimulus ids of Latin-square list ``list_index``: one per item, methods rotated."""
    methods = study.methods
    by_cell = {(s.item_id, s.method): s.stimulus_id for s in study.stimuli.values()}
    return [by_cell[(item, methods[(i + list_index) % len(methods)])] for i, item in enumerate(study.items)]


def plan_trials(study: Study, list_index: int, seed: int) -> list[PlannedTrial]:
    """The full ordered plan (practice, then main trials with checks at their positions)."""
    if not 0 <= list_index < n_lists(study):
        raise ValueError(f"list_index must be in 0..{n_lists(study) - 1}, got {list_index}")
    rng = random.Random(seed)
    if study.design == "latin-square":
        main = latin_square_stimuli(study, list_index)
    else:
        main = sorted(study.stimuli)
    rng.shuffle(main)
    pool = sorted(study.stimuli)
    practice = [pool[rng.randrange(len(pool))] for _ in range(study.practice_trials)]
    sequence: list[tuple[str, str, int | None]] = [(MAIN, sid, None) for sid in main]
    for position in study.attention_checks:  # ascending, 1-based positions in the main block
        expected = rng.randint(1, study.scale_points)
        sequence.insert(position - 1, (CHECK, pool[rng.randrange(len(pool))], expected))
    plan = [
        PlannedTrial(i, i - len(practice), PRACTICE, sid) for i, sid in enumerate(practice)
    ]
    for j, (kind, sid, expected) in enumerate(sequence):
        plan.append(PlannedTrial(len(practice) + j, j + 1, kind, sid, expected))
    return plan
