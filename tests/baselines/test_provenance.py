"""A training started from a committed bundle names that commit, and its reproduce command fetches it."""

import dataclasses
import subprocess
from pathlib import Path

import pytest
import torch

from baselines.checkpoints import save_bundle
from baselines.data import FacePool
from baselines.provenance import committed_source, find_in_history, resolve_sources
from baselines.stargan import StarGANConfig, StarGANTrainer
from baselines.train_cli import reproduce
from baselines.training import TrainSettings

SMALL = StarGANConfig(image_size=16, g_conv_dim=4, g_repeat_num=1, d_conv_dim=4, d_repeat_num=3)
WEIGHTS = "baselines/weights/stargan.pt"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    (root / "baselines" / "weights").mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.org")
    _git(root, "config", "user.name", "t")
    return root


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _bundle(path: Path, steps: int, size: int = 16, method: str = "stargan") -> Path:
    return save_bundle(path, method, {"image_size": size}, {"w": torch.full((2,), float(steps))}, {"steps": steps})


def test_committed_source_names_the_commit_that_holds_the_exact_bytes(repo, tmp_path):
    weights = repo / WEIGHTS
    first = (_bundle(weights, 2), _commit(repo, "step 2"))[1]
    assert committed_source(weights) == f"{first}:{WEIGHTS}"
    (repo / "other.txt").write_text("x")
    _commit(repo, "unrelated")
    assert committed_source(weights) == f"{first}:{WEIGHTS}"  # the commit that added these bytes, not HEAD
    _bundle(weights, 4)
    assert committed_source(weights) is None  # changed since its last commit
    second = _commit(repo, "step 4")
    assert committed_source(weights) == f"{second}:{WEIGHTS}"
    assert _git(repo, "rev-parse", f"{second}:{WEIGHTS}") == _git(repo, "hash-object", WEIGHTS)
    assert committed_source(_bundle(repo / "untracked.pt", 1)) is None
    assert committed_source(_bundle(tmp_path / "outside.pt", 1)) is None  # not in a work tree
    assert committed_source(repo / "missing.pt") is None


def test_older_phases_are_matched_in_the_history_by_method_step_and_size(repo):
    weights = repo / WEIGHTS
    _bundle(weights, 2)
    at_2 = _commit(repo, "64 px at step 2")
    _bundle(weights, 2, size=32)
    at_2_larger = _commit(repo, "larger at step 2")
    _bundle(weights, 7, size=32)
    _commit(repo, "larger at step 7")
    assert find_in_history(repo, WEIGHTS, lambda b: b["metadata"]["steps"] == 2) == f"{at_2_larger}:{WEIGHTS}"  # newest first
    schedule = [
        {"from_step": 0, "n_critic": 5},
        {"from_step": 2, "n_critic": 5, "init_from": "stargan.pt (generator of a 16 px bundle, step 2)"},
        {"from_step": 2, "n_critic": 5, "init_from": "stargan.pt (generator, step 2)"},
        {"from_step": 9, "n_critic": 5, "init_from": "stargan.pt (generator, step 9)"},  # no such version
        {"from_step": 7, "n_critic": 5, "init_from": "x.pt (generator, step 7)", "source": "kept"},
    ]
    resolved = resolve_sources(schedule, "stargan", 32, root=repo)
    assert [p.get("source") for p in resolved] == [None, f"{at_2}:{WEIGHTS}", f"{at_2_larger}:{WEIGHTS}", None, "kept"]
    assert resolve_sources(schedule[:2], "ganimation", 32, root=repo)[1].get("source") is None  # another method's file


def test_a_start_from_a_committed_bundle_is_reproduced_from_that_commit(repo, tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path, labelled_only=True)
    settings = TrainSettings(batch=4, n_critic=2, log_every=1)
    small = StarGANTrainer(SMALL, state_dir=tmp_path / "a", settings=settings, pool=pool)
    small.run(max_steps=2)
    small.export(repo / WEIGHTS)
    commit = _commit(repo, "16 px bundle")
    larger = dataclasses.replace(SMALL, image_size=32, d_repeat_num=SMALL.d_repeat_num + 1)
    trainer = StarGANTrainer(larger, state_dir=tmp_path / "b", settings=settings, pool=pool)
    trainer.init_from(repo / WEIGHTS)
    trainer.warm_up_critic(3)
    phase = trainer.schedule[-1]
    assert phase["source"] == f"{commit}:{WEIGHTS}" and phase["from_step"] == 2
    card = trainer.export(tmp_path / "larger.pt").with_suffix(".md").read_text()
    assert f"at step 2 (fresh optimisers, fresh critic), committed as `{commit}:{WEIGHTS}`" in card

    calls = reproduce("stargan", 10, 1, 32, 4, trainer.schedule, 12).split(" && ")
    folder = "~/.cache/aufx/reproduce/stargan-2"
    assert calls[:2] == [f"mkdir -p {folder}", f"git show {commit}:{WEIGHTS} > {folder}/init.pt"]
    assert calls[2].startswith(f"aufx train stargan --size 32 --conv-dim 4 --state-dir {folder} --init-from {folder}/init.pt ")
    assert "--critic-warmup 3 " in calls[2] and "--max-steps 12 " in calls[2] and calls[2].endswith(f"--export {WEIGHTS}")
    fetched = subprocess.run(["git", "show", phase["source"]], cwd=repo, check=True, capture_output=True).stdout
    assert fetched == (repo / WEIGHTS).read_bytes()  # the command's file is the very bundle


def test_reproduce_starts_at_the_last_fetched_bundle_and_describes_an_unrecorded_one():
    plain = {"n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4}
    schedule = [{"from_step": 0, **plain},
                {"from_step": 100, **plain, "init_from": "g.pt (generator, step 100)", "source": "abc:baselines/weights/g.pt"},
                {"from_step": 150, **plain, "decay_end": 200}]  # fmt: skip
    calls = reproduce("ganimation", schedule=schedule, final_step=200).split(" && ")
    assert len(calls) == 4 and calls[1] == "git show abc:baselines/weights/g.pt > ~/.cache/aufx/reproduce/ganimation-100/init.pt"
    assert "--max-steps 150 " in calls[2] and "--init-from" in calls[2]  # the phase before the bundle is left out
    assert "--state-dir ~/.cache/aufx/reproduce/ganimation-100 " in calls[3] and "--init-from" not in calls[3]
    assert "--decay-until 200 " in calls[3]
    unrecorded = reproduce("ganimation", schedule=[{**schedule[1], "source": None}], final_step=120)
    assert "--init-from 'g.pt (generator, step 100)' " in unrecorded and "git show" not in unrecorded
