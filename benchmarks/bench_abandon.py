"""Counterbalancing when participants abandon: simulated Prolific participants against the real server.

Each run: a Latin-square study (4 lists), 40 places on the platform, 50 arrivals of whom 10 (a
random choice; the last arrival always finishes, else the platform would need a 51st) abandon
at a random point after consent. Everything runs in simulated time (``study_server.clock``)
through the Flask test client, so hours of a study take seconds. The platform admits a new
participant only while a place is free (40 minus completed minus active). An abandoned place is
freed by a *time-out* (the platform's maximum time after the start, 60 min) or at once by a
*return*. The server marks a session abandoned after ``abandon_after_minutes`` idle (the
server's default unless ``--abandon-after``; 0 turns it off, which is the old rule: a list counts
everyone who ever started it). Simulated participants take 8-45 s per page, so those who are
still there are never idle that long (real pages ping once a minute).

Reported per regime and rule: over the seeds, the distribution of max - min of the completed
participants per list at the end (the goal: at most 1 with the abandonment rule).

    python benchmarks/bench_abandon.py                 # 20 seeds, both regimes, rule on and off
    python benchmarks/bench_abandon.py --seeds 3 --regime timeout --rule on
"""

from __future__ import annotations

import argparse
import csv
import heapq
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study_server.study import DEFAULT_ABANDON_AFTER_MINUTES  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TRIAL_RE = re.compile(r'action="/trial/(\d+)"')
CHECK_RE = re.compile(r"please answer (\d+) to every question")
QUESTIONS = ("expression", "identity", "artifacts")
REGIMES = ("timeout", "return")


@dataclass
class Settings:
    """One simulated study."""

    arrivals: int = 50
    abandoners: int = 10
    places: int = 40
    abandon_after_minutes: int = DEFAULT_ABANDON_AFTER_MINUTES  # the server's rule (0: off)
    platform_timeout_minutes: int = 60  # Prolific's maximum time
    regime: str = "timeout"  # how an abandoned place is freed on the platform: "timeout" or "return"
    mean_arrival_gap_s: float = 90.0


@dataclass
class Outcome:
    """The end of one run."""

    completed_per_list: list[int]
    taken_per_list: list[int]
    abandoned: int
    requests: int

    @property
    def spread(self) -> int:
        return max(self.completed_per_list) - min(self.completed_per_list)


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    kind: str = field(compare=False)
    who: int = field(compare=False, default=-1)


class Participant:
    """One simulated person with a browser (a Flask test client)."""

    def __init__(self, index: int, client: Any, abandon_after_steps: int | None) -> None:
        self.index = index
        self.client = client
        self.abandon_after_steps = abandon_after_steps  # None: finishes
        self.steps = 0
        self.token = ""
        self.done = False

    def _page(self, response: Any) -> str:
        html = response.get_data(as_text=True)
        match = CSRF_RE.search(html)
        if match:
            self.token = match.group(1)
        return html

    def step(self) -> bool:
        """Do the next thing; False once finished (or gone)."""
        c = self.client
        if self.steps == 0:
            query = f"?PROLIFIC_PID=p{self.index:03d}&STUDY_ID=sim&SESSION_ID=s{self.index:03d}"
            self._page(c.get("/" + query))
            self._page(c.get("/consent"))
        elif self.steps == 1:
            self._expect(c.post("/consent", data={"csrf_token": self.token, "consent": "yes"}))
            self._page(c.get("/demographics"))
        elif self.steps == 2:
            self._expect(c.post("/demographics", data={"csrf_token": self.token}))
            self._page(c.get("/instructions"))
        elif self.steps == 3:
            self._expect(c.post("/instructions", data={"csrf_token": self.token}))
        else:
            page = c.get("/trial")
            if page.status_code == 303:
                self.done = True
                return False
            html = self._page(page)
            seq = int(TRIAL_RE.search(html).group(1))
            check = CHECK_RE.search(html)
            value = check.group(1) if check else "3"
            data = {"csrf_token": self.token, **{f"q_{q}": value for q in QUESTIONS}, "rt_ms": "2000"}
            self._expect(c.post(f"/trial/{seq}", data=data))
        self.steps += 1
        return not (self.abandon_after_steps is not None and self.steps >= self.abandon_after_steps)

    @staticmethod
    def _expect(response: Any) -> None:
        if response.status_code != 303:
            raise RuntimeError(f"unexpected {response.status_code}: {response.get_data(as_text=True)[-300:]}")


def make_study_folder(folder: Path, settings: Settings) -> Path:
    """A 4-item x 4-method Latin-square study of 8 px images with the abandonment rule of ``settings``."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for i in range(4):
        for ref in (f"src{i}", f"tgt{i}"):
            Image.new("RGB", (8, 8), (i * 40, 90, 120)).save(folder / "images" / f"{ref}.png")
        for j in range(4):
            sid = f"s{i}_{j}"
            Image.new("RGB", (8, 8), (i * 40, j * 50, 200)).save(folder / "images" / f"{sid}.png")
            rows.append([sid, f"item{i}", f"src{i}", f"tgt{i}", "transfer", f"m{j}", "", f"images/{sid}.png", ""])
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["stimulus_id", "item_id", "source_id", "target_id", "task", "method", "parameters", "path", "sha256"])
        writer.writerows(rows)
    (folder / "study.toml").write_text(
        'id = "sim"\ndesign = "latin-square"\ndemographics = true\npractice_trials = 1\n'
        f'attention_checks = [3]\nabandon_after_minutes = {settings.abandon_after_minutes}\n'
    )
    return folder


def run(seed: int, settings: Settings, workdir: Path) -> Outcome:
    """One simulated study; the lists at the end."""
    from study_server import clock
    from study_server.app import create_app
    from study_server.assignment import list_counts, mark_abandoned
    from study_server.db import write_session

    rng = random.Random(seed)
    folder = make_study_folder(workdir / f"study-{seed}-{settings.regime}-{settings.abandon_after_minutes}", settings)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{folder / 'sim.db'}"})
    rt = app.extensions["aufx_study"]
    n_steps = 4 + rt.study.practice_trials + rt.study.n_main_trials() + 1  # the last step reaches /done
    while True:
        outcomes = [True] * (settings.arrivals - settings.abandoners) + [False] * settings.abandoners
        rng.shuffle(outcomes)
        if outcomes[-1]:
            break
    now = datetime(2026, 5, 4, 9, 0)
    queue: list[Event] = []
    order = 0

    def push(at: datetime, kind: str, who: int = -1) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, Event(at, order, kind, who))

    people: list[Participant] = []
    occupied = 0  # platform places held: active or completed
    arrived = 0
    waiting = False
    requests = 0
    push(now, "arrival")
    with clock.simulated(lambda: now):
        while queue:
            event = heapq.heappop(queue)
            now = event.at
            if event.kind == "arrival":
                if arrived >= settings.arrivals:
                    continue
                if occupied >= settings.places:
                    waiting = True
                    continue
                finishes = outcomes[arrived]
                stop = None if finishes else rng.randint(2, n_steps - 2)  # after consent, before the end
                person = Participant(arrived, app.test_client(), stop)
                people.append(person)
                arrived += 1
                occupied += 1
                push(now, "step", person.index)
                push(now + timedelta(seconds=rng.expovariate(1 / settings.mean_arrival_gap_s)), "arrival")
            elif event.kind == "step":
                person = people[event.who]
                requests += 1
                if person.step():
                    push(now + timedelta(seconds=rng.uniform(8, 45)), "step", person.index)
                elif not person.done:  # gone: the platform frees the place later or now
                    delay = 0 if settings.regime == "return" else settings.platform_timeout_minutes * 60
                    push(now + timedelta(seconds=delay), "release", person.index)
            elif event.kind == "release":
                occupied -= 1
                if waiting:
                    waiting = False
                    push(now + timedelta(seconds=rng.expovariate(1 / 60)), "arrival")
        now += timedelta(minutes=max(settings.abandon_after_minutes, 1) + 1)
        with write_session(rt.db) as session:
            mark_abandoned(session, rt.study, now)
            session.commit()
        with rt.db() as session:
            counts = list_counts(session, rt.study)
    assert sum(p.done for p in people) == settings.arrivals - settings.abandoners, "every finisher finished"
    return Outcome([c.completed for c in counts], [c.taken for c in counts], sum(c.abandoned for c in counts), requests)


def table(results: dict[tuple[str, str], list[Outcome]], seeds: int) -> str:
    """Markdown table: regime, rule, spread distribution, worst lists."""
    lines = ["| abandoned place freed by | server rule | max − min of completed per list over the seeds | ≤ 1 | worst run (completed per list) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for (regime, rule), outcomes in results.items():
        spreads = Counter(o.spread for o in outcomes)
        shown = ", ".join(f"{k}: {v}×" for k, v in sorted(spreads.items()))
        worst = max(outcomes, key=lambda o: o.spread)
        freed = "time-out on the platform (60 min)" if regime == "timeout" else "return on the platform (at once)"
        lines.append(f"| {freed} | {rule} | {shown} | {sum(o.spread <= 1 for o in outcomes)}/{seeds} | {worst.completed_per_list} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--regime", choices=(*REGIMES, "both"), default="both")
    parser.add_argument("--rule", choices=("on", "off", "both"), default="both")
    parser.add_argument("--abandon-after", type=int, default=DEFAULT_ABANDON_AFTER_MINUTES, metavar="MIN",
                        help=f"the server's idle time of the rule (default {DEFAULT_ABANDON_AFTER_MINUTES}, the server's)")
    args = parser.parse_args(argv)
    regimes = REGIMES if args.regime == "both" else (args.regime,)
    rules = ("on", "off") if args.rule == "both" else (args.rule,)
    results: dict[tuple[str, str], list[Outcome]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for regime in regimes:
            for rule in rules:
                label = f"abandoned after {args.abandon_after} min idle" if rule == "on" else "off (abandon_after_minutes = 0)"
                settings = Settings(regime=regime, abandon_after_minutes=args.abandon_after if rule == "on" else 0)
                results[(regime, label)] = [run(seed, settings, Path(tmp)) for seed in range(args.seeds)]
                print(f"{regime:8s} {label:34s} spreads {[o.spread for o in results[(regime, label)]]}", flush=True)
    elapsed = time.perf_counter() - started
    text = table(results, args.seeds)
    print(text)
    print(f"{args.seeds} seeds per row, {elapsed:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
