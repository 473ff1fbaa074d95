"""``aufx train analyzer``: train (or resume) the SynthFACS face analyzer (AUs, identity, parts).

    aufx train analyzer --budget-minutes 45 --threads 1          # resumes ~/.cache/aufx/analyzer
    aufx train analyzer --steps 0 --out aufx/weights/analyzer.pt   # export the checkpoint only
    aufx train analyzer --steps 0 --readout-faces 4000 --out aufx/weights/analyzer.pt
                                  # ... with the AU head refit as a closed-form ridge read-out

Checkpoints every few minutes to ``--state-dir`` (``checkpoint.pt``, ``train.log``) and writes the
final weights to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_STATE_DIR = "~/.cache/aufx/analyzer"
REPRODUCE = "aufx train analyzer --steps 40000 --budget-minutes 50 --batch 32 --seed 0 --threads 1"


def add_parser(train_subparsers: argparse._SubParsersAction) -> None:
    parser = train_subparsers.add_parser(
        "analyzer", help="train the SynthFACS face analyzer (resumable)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=20000, help="maximum optimisation steps (0: export only)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="training-time budget; the learning-rate schedule spans it")  # fmt: skip
    parser.add_argument("--batch", type=int, default=32, help="faces per step (even)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--checkpoint-minutes", type=float, default=3.0)
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, help="checkpoint and log folder")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --state-dir")
    parser.add_argument("--out", default=None, help="final weights (default STATE_DIR/analyzer.pt)")
    parser.add_argument("--readout-faces", type=int, default=0,
                        help="finally replace the AU head by a ridge read-out fit on this many fresh renders")  # fmt: skip
    parser.add_argument("--readout-ridge", type=float, default=1000.0, help="ridge penalty of that read-out")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``aufx train analyzer``; returns the exit code."""
    if args.steps < 0:
        raise ValueError(f"--steps must be >= 0, got {args.steps}")
    if args.batch < 4 or args.batch % 2:
        raise ValueError(f"--batch must be an even number >= 4, got {args.batch}")
    if args.budget_minutes is not None and args.budget_minutes <= 0:
        raise ValueError(f"--budget-minutes must be > 0, got {args.budget_minutes}")
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.readout_faces < 0 or args.readout_faces == 1:
        raise ValueError(f"--readout-faces must be 0 or >= 2, got {args.readout_faces}")
    import torch

    from aufx.au.training import AnalyzerTrainer, TrainConfig

    torch.set_num_threads(args.threads)
    state_dir = Path(args.state_dir).expanduser()
    out = Path(args.out).expanduser() if args.out else state_dir / "analyzer.pt"
    config = TrainConfig(steps=max(1, args.steps), budget_minutes=args.budget_minutes, batch=args.batch,
                         lr=args.lr, seed=args.seed, checkpoint_minutes=args.checkpoint_minutes)  # fmt: skip
    trainer = AnalyzerTrainer(config, state_dir)
    if args.resume or args.steps == 0:
        if trainer.load_state():
            print(f"resumed {trainer.state_path} at step {trainer.step}")
        elif args.steps == 0:
            raise FileNotFoundError(f"no checkpoint to export in {state_dir}")
        else:
            print(f"no checkpoint in {state_dir}; starting fresh")
    elif trainer.state_path.is_file():
        raise ValueError(f"{trainer.state_path} exists; pass --resume to continue it or choose another --state-dir")

    def export(t: AnalyzerTrainer) -> None:
        t.export(out, {"command": REPRODUCE, "data": "SynthFACS renders (64 px), fresh every batch"})

    if args.steps > 0:
        trainer.run(on_checkpoint=export)
    export(trainer)
    if args.readout_faces:
        from aufx.au.model import FaceAnalyzer
        from aufx.au.readout import fit_linear_readout

        model = fit_linear_readout(FaceAnalyzer.load(out), n=args.readout_faces, ridge=args.readout_ridge)
        model.save(out, model.metadata)
        print(f"AU head replaced by a ridge read-out fit on {args.readout_faces} renders")
    print(f"{trainer.step} steps, {trainer.elapsed / 60:.1f} min of training; weights in {out}")
    return 0
