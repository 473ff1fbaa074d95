"""scripts/train_baselines.sh: its commands are ones the CLI accepts, at the bundled weights'
sizes, and start / status / stop manage runs (a fake ``aufx`` that waits for its signal)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import torch

from aufx.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_baselines.sh"
BASH = shutil.which("bash") or "/bin/bash"


def script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=200)


def test_the_commands_parse_and_match_the_bundled_weights(tmp_path):
    out = script("commands", env={"AUFX": "aufx", "AUFX_BASELINE_STATE": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    lines = [shlex.split(line) for line in out.stdout.splitlines()]
    assert len(lines) == 6  # a training and an export per method
    for train, export in zip(lines[::2], lines[1::2], strict=True):
        method = train[2]
        args, exported = build_parser().parse_args(train[1:]), build_parser().parse_args(export[1:])
        assert args.init_from == f"baselines/weights/{method}.pt" and args.until_converged and args.budget_minutes > 0
        assert exported.export == args.init_from and exported.export_if_better and exported.keep_notes
        assert exported.budget_minutes == 0 and 0 < args.g_ema < 1
        shared = ("size", "conv_dim", "validate_every", "state_dir", "n_critic", "bf16", "g_ema", "decay_on_plateau", "upsample_blur", "loss",
                  "generated_share")
        assert {k: getattr(args, k) for k in shared} == {k: getattr(exported, k) for k in shared}
        assert args.state_dir == str(tmp_path / f"{method}128")
        assert args.loss == {"stargan": ["id=5"], "ganimation": ["colour=1"], "cascade-efgan": ["colour=1"]}.get(method, [])  # aufx additions (docs/baselines.md)
        assert args.generated_share == {"ganimation": 0.5, "cascade-efgan": 0.5}.get(method, 0.0)  # an aufx addition too
        config = torch.load(ROOT / args.init_from, weights_only=True)["config"]  # the run goes on from this file
        assert (config["image_size"], config.get("g_conv_dim", config.get("conv_dim"))) == (args.size, args.conv_dim)


def fake_aufx(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """(the script's environment with a fake ``aufx`` that trains until its TERM signal, then writes
    "<method> stopped" to the log; that log)."""
    log = tmp_path / "signals.log"
    fake = tmp_path / "aufx"
    fake.write_text(f"#!{BASH}\ntrap 'echo \"$2 stopped\" >> {log}; exit 0' TERM\nwhile true; do sleep 0.1; done\n")
    fake.chmod(0o755)
    return {"AUFX": str(fake), "AUFX_BASELINE_STATE": str(tmp_path / "state"), "AUFX_PAUSED": ""}, log


def test_start_status_and_stop_manage_the_runs(tmp_path):
    env, log = fake_aufx(tmp_path)
    try:
        started = script("start", env=env)
        assert started.returncode == 0, started.stderr
        assert started.stdout.count("started") == 3
        assert script("start", env=env).stdout.count("running already") == 3
        status = script("status", env=env).stdout
        assert status.count(": running; last validation: no validation yet") == 3
        stopped = script("stop", env=env)
        assert stopped.returncode == 0 and stopped.stdout.count("stopped") == 3
        assert sorted(log.read_text().split("\n")[:-1]) == ["cascade-efgan stopped", "ganimation stopped", "stargan stopped"]
        assert script("status", env=env).stdout.count(": not running;") == 3
    finally:
        script("stop", env=env)


def test_methods_named_after_the_command_select_the_runs(tmp_path):
    env, log = fake_aufx(tmp_path)
    try:
        started = script("start", "ganimation", "stargan", env=env)
        assert started.returncode == 0 and started.stdout.split() == ["ganimation:", "started", "(log",
                                                                       f"{tmp_path}/state/ganimation128.log)", "stargan:",
                                                                       "started", "(log", f"{tmp_path}/state/stargan128.log)"]  # fmt: skip
        status = script("status", env=env).stdout
        assert "cascade-efgan: not running" in status and status.count(": running;") == 2
        assert script("stop", "stargan", env=env).stdout.strip() == "stargan: stopped"
        assert script("status", "ganimation", env=env).stdout.startswith("ganimation: running;")
        wrong = script("start", "ganimation", "stargn", env=env)
        assert wrong.returncode == 2 and "unknown method 'stargn'" in wrong.stderr and "cascade-efgan" in wrong.stderr
        assert "started" not in wrong.stdout  # nothing started on a misspelt name
    finally:
        script("stop", env=env)
    assert sorted(log.read_text().split()) == sorted(["stargan", "stopped", "ganimation", "stopped"])


def test_status_reports_the_last_logged_step_and_a_decay_the_stopping_rule_started(tmp_path):
    state = tmp_path / "state"
    (state / "stargan128").mkdir(parents=True)
    (state / "stargan128" / "log.jsonl").write_text('{"step": 6210, "G/total": 1.0}\n{"step": 6220, "G/total": 0.9}\n')
    (state / "stargan128.log").write_text(
        "stargan: validation stopped improving at step 6200; the learning rates now decay linearly to 0 by step 9300\n")
    lines = script("status", env={"AUFX": "aufx", "AUFX_BASELINE_STATE": str(state)}).stdout.splitlines()
    assert "stargan: not running, step 6220, learning rates decaying to 0 by step 9300; last validation: no validation yet" in lines
    assert "ganimation: not running; last validation: no validation yet" in lines  # no log yet: no step, no decay


def test_start_without_names_skips_the_paused_runs_and_a_name_starts_one(tmp_path):
    env, log = fake_aufx(tmp_path)
    env = {**env, "AUFX_PAUSED": "stargan"}
    try:
        started = script("start", env=env)
        assert started.returncode == 0 and started.stdout.count("started") == 2
        assert "stargan: paused" in started.stdout
        assert script("start", "stargan", env=env).stdout.startswith("stargan: started")
        assert script("status", env=env).stdout.count(": running;") == 3
    finally:
        script("stop", env=env)
