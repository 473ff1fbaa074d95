"""SIGTERM/SIGINT end a training run at the next step, with its final checkpoint written."""

from __future__ import annotations

import os
import signal

import torch

from aufx.gan.trainer import GeneratorTrainer, TrainConfig
from aufx.stop_signals import stop_requested_on_signals

TINY = TrainConfig(resolution=16, channel_base=64, channel_max=8, z_dim=8, w_dim=8, batch=2, log_every=1)


def test_signal_sets_the_flag_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with stop_requested_on_signals() as stop:
        assert not stop
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop and stop.signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_generator_run_stops_on_sigterm_and_checkpoints(tmp_path):
    source = lambda n, rng: torch.zeros(n, 3, 16, 16)  # noqa: E731
    trainer = GeneratorTrainer(TINY, source, tmp_path)
    steps_before_signal = 3
    with stop_requested_on_signals() as stop:

        def stop_after_three() -> bool:
            if trainer.step == steps_before_signal and not stop:
                os.kill(os.getpid(), signal.SIGTERM)
            return bool(stop)

        trainer.run(budget_seconds=600, progress=False, stop=stop_after_three)
    assert trainer.step == steps_before_signal
    resumed = GeneratorTrainer(TINY, source, tmp_path)
    assert resumed.load_state() and resumed.step == steps_before_signal
