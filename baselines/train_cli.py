"""``aufx train stargan|ganimation|cascade-efgan``: resumable SynthFACS training of the baselines.

    aufx train stargan --budget-minutes 120 --export baselines/weights/stargan.pt
    aufx train ganimation --budget-minutes 30            # resumes ~/.cache/aufx/baselines/ganimation
    aufx train cascade-efgan --budget-minutes 0 --export baselines/weights/cascade-efgan.pt  # export only

Every method gets the same documented budget — **120 CPU-minutes on 2 threads at 64 px, batch 16**
(one fifth of the bundled generator's 600 minutes) — so that the comparison is not decided by
compute. The state (networks, optimisers, RNG, step) is checkpointed to ``--state-dir`` every
``--checkpoint-minutes`` and at the end; a later call resumes it. The face pool is rendered
once into ``~/.cache/aufx/baselines/data``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import shlex
import sys
from pathlib import Path
from typing import Any

BUDGET_MINUTES = 120.0
#: Critic-only steps after ``--init-from`` a bundle that holds no critic (GANimation; StarGAN before 2026-12-06).
DEFAULT_CRITIC_WARMUP = 200
#: The one table of trainable baselines: ``aufx train <name>`` -> ``"module:TrainerClass"`` (the
#: trainer lives in the method's module and builds its config with ``config_for``). Resolved on
#: first use, so building the parser imports no network code.
TRAINERS: dict[str, str] = {
    "stargan": "baselines.stargan:StarGANTrainer",
    "ganimation": "baselines.ganimation:GANimationTrainer",
    "cascade-efgan": "baselines.cascade_efgan:CascadeEFGANTrainer",
}
METHODS = tuple(TRAINERS)


def phase_flags(phase: dict) -> str:
    """The switches a schedule phase records besides its rates and n_critic: `` --bf16``,
    `` --g-ema β``, `` --upsample-blur``, `` --restart-ema``, `` --loss name=value`` and `` --generated-share s`` when the phase used them (the
    reproduce commands' shared part)."""
    return ((" --bf16" if phase.get("bf16") else "") + (f" --g-ema {phase['g_ema']:g}" if phase.get("g_ema") else "")
            + (" --upsample-blur" if phase.get("upsample_blur") else "") + (" --restart-ema" if phase.get("ema_restart") else "")
            + "".join(f" --loss {k}={v:g}" for k, v in phase.get("losses", {}).items())
            + (f" --generated-share {phase['generated_share']:g}" if phase.get("generated_share") else ""))


def dropped_decay(schedule: list[dict], index: int) -> bool:
    """Whether phase ``index`` began from a bundle at full rates although the phase before it was in a
    learning-rate decay: what every ``--init-from`` did until 2026-12-08 (StarGAN's restart at step
    7,500), and what ``--no-decay`` does now."""
    phase = schedule[index]
    return (bool(phase.get("init_from")) and index > 0 and phase.get("decay_end") is None
            and schedule[index - 1].get("decay_end") is not None)  # fmt: skip


def reproduce(method: str, minutes: float = BUDGET_MINUTES, threads: int = 2, size: int = 64, conv_dim: int = 32,
              schedule: list[dict] | None = None, final_step: int | None = None) -> str:  # fmt: skip
    """The command(s) that train ``method`` as it was trained: one ``aufx train`` call for
    ``minutes`` of training time, or, for a schedule of several phases (changed on resuming) or one
    started from a bundle, one call per phase ending at its last step (``--max-steps``; the last
    phase ends at ``final_step``), joined by ``&&``.

    A phase started from a bundle (``init_from``) gets its own ``--state-dir`` and ``--init-from``;
    when the phase records the commit that holds the bundle (``source``, :mod:`baselines.provenance`)
    the commands fetch it with ``git show`` and begin there: the file stands for the phases before
    it (its own model card, at that commit, tells how it was made)."""
    base = f"aufx train {method}" + (f" --size {size} --conv-dim {conv_dim}" if (size, conv_dim) != (64, 32) else "")
    export = f"--threads {threads} --seed 0 --export baselines/weights/{method}.pt"
    if not schedule or (len(schedule) < 2 and not schedule[0].get("init_from")):
        return f"{base}{phase_flags(schedule[0]) if schedule else ''} --budget-minutes {minutes:g} {export}"
    from baselines.training import phase_ends

    ends = phase_ends(schedule, final_step)
    tails = [f"--threads {threads} --seed 0"] * (len(schedule) - 1) + [export]  # the last call exports
    fetched = [i for i, phase in enumerate(schedule) if phase.get("init_from") and phase.get("source")]
    first = fetched[-1] if fetched else 0
    calls, state_dir = [], ""
    for index, phase, end, tail in list(zip(range(len(schedule)), schedule, ends, tails, strict=True))[first:]:
        start = ""
        if phase.get("init_from"):
            folder = f"~/.cache/aufx/reproduce/{method}-{phase['from_step']}"
            state_dir = f" --state-dir {folder}"
            if phase.get("source"):
                calls.append(f"mkdir -p {folder} && git show {phase['source']} > {folder}/init.pt")
                start = f" --init-from {folder}/init.pt"
            else:
                start = f" --init-from {shlex.quote(str(phase['init_from']))}"  # no commit recorded: the description
        warmup = int(phase.get("critic_only_until") or 0) - int(phase["from_step"])
        calls.append(
            f"{base}{state_dir}{start} --n-critic {phase['n_critic']} --lr-g {phase['lr_g']:g} --lr-d {phase['lr_d']:g}"
            f"{phase_flags(phase)}"
            f"{f' --critic-warmup {warmup}' if warmup > 0 else ''}"
            f"{' --decay-until ' + str(phase['decay_end']) if phase.get('decay_end') is not None else ''}"
            f"{' --no-decay' if dropped_decay(schedule, index) else ''}"
            f" --budget-minutes 100000 --max-steps {end} {tail}"
        )
    return " && ".join(calls)


def add_parser(train_subparsers: argparse._SubParsersAction) -> None:
    """Add one ``aufx train <method>`` per entry of :data:`TRAINERS`."""
    for method in METHODS:
        parser = train_subparsers.add_parser(
            method, help=f"train the {method} baseline on SynthFACS (resumable)", description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        parser.add_argument("--state-dir", default=None, help=f"default ~/.cache/aufx/baselines/{method}")
        parser.add_argument("--budget-minutes", type=float, default=BUDGET_MINUTES, help="wall-clock budget of this call (0: export only)")
        parser.add_argument("--max-steps", type=int, default=None, help="stop at this many critic steps in all")
        parser.add_argument("--export", default=None, help="write the trained weights (+ model card .md) here")
        parser.add_argument("--init-from", default=None,
                            help="with no state yet, start from this exported bundle (e.g. the bundled weights after the state was lost)")
        parser.add_argument("--notes", default="", help="a paragraph for the model card (e.g. why the schedule or width differ from the paper's)")
        parser.add_argument("--keep-notes", action="store_true",
                            help="the new model card keeps the notes of the bundle at --export, and --notes follows them (the "
                                 "paragraphs written by hand, not the measures written beside them)")  # fmt: skip
        parser.add_argument("--size", type=int, default=64, help="image size (the bundled generator's: 64)")
        parser.add_argument("--conv-dim", type=int, default=32, help="generator and critic width")
        parser.add_argument("--batch", type=int, default=16)
        parser.add_argument("--pool-faces", type=int, default=8000, help="SynthFACS faces rendered for training")
        parser.add_argument("--data-dir", default=None, help="face pool directory (default ~/.cache/aufx/baselines/data)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
        parser.add_argument("--n-critic", type=int, default=5, help="critic steps per generator step (the authors' 5)")
        parser.add_argument("--lr-g", type=float, default=1e-4, help="generator learning rate (Adam)")
        parser.add_argument("--lr-d", type=float, default=1e-4, help="critic learning rate (Adam)")
        parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the forward passes (about 2x faster on CPUs with native bf16; "
                            "ignored, with a warning, on CPUs without it, where it is about 80x slower)")
        parser.add_argument("--g-ema", type=float, default=0.0,
                            help="keep an exponential moving average of the generator's weights with this decay per "
                                 "generator step (e.g. 0.99; 0: none, the authors' setting); validations and exports "
                                 "then use the average, and each validation also measures the last weights "
                                 "(val_last_weights.jsonl)")  # fmt: skip
        parser.add_argument("--upsample-blur", action="store_true",
                            help="a fixed binomial blur after each up-conv of the generator (an aufx addition against "
                                 "the stride-2 transposed convolutions' checkerboard; same weights, so a resumed run may "
                                 "switch it on: the schedule records the step)")  # fmt: skip
        parser.add_argument("--loss", action="append", default=[], metavar="NAME=VALUE",
                            help="set one loss weight (repeatable; the names are the method's, e.g. StarGAN's rec, cls "
                                 "and id: the identity term, 0 by default, an aufx addition); a changed weight starts a "
                                 "schedule phase, and the model card lists it")  # fmt: skip
        parser.add_argument("--generated-share", type=float, default=0.0,
                            help="draw this share of each batch from faces of the bundled generator labelled by the "
                                 "bundled analyzer (baselines/data.py; an aufx addition: the comparison and the stimuli "
                                 "edit generated faces; 0: renders only, as the papers; a schedule phase)")  # fmt: skip
        parser.add_argument("--generated-faces", type=int, default=4000, help="faces in the generated pool")
        parser.add_argument("--restart-ema", action="store_true",
                            help="with --g-ema: restart the weights' average at the generator's weights on resuming "
                                 "(a schedule phase; done by itself when --upsample-blur changes)")  # fmt: skip
        parser.add_argument("--validate-last-every", type=int, default=1,
                            help="with --g-ema: measure the last weights at every this many-th validation of the log "
                                 "(1: each, 0: never; each costs a second validation's time)")  # fmt: skip
        parser.add_argument("--until-converged", action="store_true",
                            help="validate at every checkpoint (held-out renders, baselines.validation) and stop "
                                 "when no validation measure has improved for --patience validations; --export "
                                 "then writes the best validated generator (most goals met, then lowest rank sum over the measures)")  # fmt: skip
        parser.add_argument("--export-if-better", action="store_true",
                            help="with --until-converged: write --export only when the best validated checkpoint meets "
                                 "more of the goals than the file already there, or as many and beats it on more validation "
                                 "measures than it loses (same held-out faces; a tie goes to the better ideal_l1)")  # fmt: skip
        parser.add_argument("--decay-on-plateau", action="store_true",
                            help="with --until-converged: when the stopping rule fires, decay both learning rates linearly "
                                 "to 0 over half the steps trained so far (GANimation's schedule: constant, then a linear "
                                 "decay to 0), and stop at its end")  # fmt: skip
        parser.add_argument("--critic-warmup", type=int, default=None,
                            help="train only the critic for this many steps first (default: 200 after --init-from "
                                 "a bundle without a critic, else 0)")  # fmt: skip
        parser.add_argument("--no-decay", action="store_true",
                            help="with --init-from: train at the full rates even where the bundle was written in a "
                                 "learning-rate decay (which a start from it otherwise goes on with)")
        parser.add_argument("--decay-until", type=int, default=None,
                            help="decay both learning rates linearly from now to 0 at this step")
        parser.add_argument("--patience", type=int, default=6, help="validations without improvement (with --until-converged)")
        parser.add_argument("--min-delta", type=float, default=0.01, help="relative improvement that counts")
        parser.add_argument("--val-faces", type=int, default=64, help="held-out faces of each validation")
        parser.add_argument("--validate-every", type=int, default=None,
                            help="validate every this many steps (default: at every checkpoint); a step count "
                                 "keeps the stopping rule independent of the machine's speed")  # fmt: skip
        parser.set_defaults(handler=run, method=method)


def parse_loss_weights(items: list[str], defaults: dict[str, float], method: str) -> dict[str, float]:
    """``--loss name=value`` items -> {name: weight}; a name not among ``defaults`` (the method's
    losses) or a value that is not a number >= 0 is an error that names it."""
    weights: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in defaults:
            raise ValueError(f"--loss {item!r}: expected NAME=VALUE with NAME one of {method}'s losses ({', '.join(defaults)})")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"--loss {item!r}: {value!r} is not a number") from None
        if not weights[name] >= 0:
            raise ValueError(f"--loss {item!r}: a loss weight must be >= 0")
    return weights


def trainer_class(method: str) -> Any:
    """The :class:`baselines.training.GANTrainer` subclass of ``method`` (a key of :data:`TRAINERS`)."""
    module_name, _, attribute = TRAINERS[method].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def build_config(method: str, size: int, conv_dim: int, upsample_blur: bool = False) -> Any:
    """The method's config at ``size`` px with width ``conv_dim`` (critic depth: size / 2**r = 2)
    and ``upsample_blur`` (:class:`baselines.nets.BlurredConvTranspose2d`)."""
    if size < 16 or size & (size - 1):
        raise ValueError(f"--size must be a power of two >= 16, got {size}")
    if conv_dim < 4:
        raise ValueError(f"--conv-dim must be >= 4, got {conv_dim}")
    return dataclasses.replace(trainer_class(method).config_for(size, conv_dim), upsample_blur=upsample_blur)


def make_validator(args: argparse.Namespace, trainer: Any) -> Any:
    """A :class:`baselines.validation.Validator` for ``trainer``: the method's adapter at its config
    and :func:`baselines.validation.standard_inputs` (held-out sets, analyzer, emotion classifier)."""
    from baselines.base import Conditioning
    from baselines.registry import adapter_class
    from baselines.validation import Plateau, Validator, standard_inputs

    adapter = adapter_class(args.method)(trainer.config)
    inputs = standard_inputs(trainer.config.image_size, args.val_faces, emotion=adapter.conditioning == Conditioning.EMOTION)
    return Validator(adapter, trainer.state_dir, inputs["vset"], inputs["analyzer"], inputs["classifier"],
                     Plateau(args.patience, args.min_delta), inputs["emotion_set"], args.validate_last_every,
                     inputs["generated_set"])  # fmt: skip


def export(args: argparse.Namespace, trainer: Any, validator: Any) -> None:
    """Write ``--export`` (+ model card): the best validated generator when there is one (the card
    then describes that checkpoint: its step, measures and the schedule up to it), else the last."""
    from baselines.checkpoints import read_torch_file
    from baselines.provenance import resolve_sources
    from baselines.training import author_notes
    from baselines.validation import HIGHER_IS_BETTER, read_history

    trainer.schedule = resolve_sources(trainer.schedule, args.method, args.size)  # phases started before sources were recorded
    kept = author_notes(read_torch_file(args.export)["metadata"]) if args.keep_notes and Path(args.export).is_file() else ""
    added = args.notes if args.notes not in kept else ""  # a paragraph kept already is not added twice
    own_notes = "\n\n".join(part for part in (kept, added) if part)  # --keep-notes --notes: kept, then the new paragraph
    notes, schedule, step, best_step = own_notes, trainer.schedule, trainer.step, None
    if validator is not None and validator.best_path.is_file():
        best = read_torch_file(validator.best_path)
        trainer.load_generator(best["G"])
        trainer.config = with_switches_of(trainer.config, best.get("config") or {})
        measures = ", ".join(f"{m} {best[m]:.4f}" for m in (*HIGHER_IS_BETTER, "high_freq_ratio") if m in best)
        print(f"exporting the best validated generator: step {best['step']}, {measures}")
        step = best_step = int(best["step"])
        schedule = trainer.schedule_until(step)
        notes = (f"The best validated checkpoint (the most goals met, then the lowest rank sum over the "
                 f"validation measures, `baselines.validation`): step {step} of {trainer.step} trained; {measures}.\n\n{notes}").strip()  # fmt: skip
        if args.export_if_better and Path(args.export).is_file():
            verdict = against_incumbent(args, best, validator)
            if verdict is None:
                return
            notes = f"{notes}\n\n{verdict}"
    command = reproduce(args.method, round(trainer.elapsed / 60), args.threads, args.size, args.conv_dim, schedule, step)
    validations = read_history(validator.history_path) if validator is not None else None
    path = trainer.export(args.export, command=command, notes=notes, half=True, step=best_step, validations=validations,
                          author_notes=own_notes)  # fmt: skip
    print(f"exported {path} (+ {path.with_suffix('.md').name})")


def with_switches_of(config: Any, saved: dict) -> Any:
    """``config`` with the :data:`baselines.training.SWITCHABLE_FIELDS` of the ``saved`` config (a
    ``best_G.pt``'s; absent: the default): the exported weights go out with the switches they were
    validated with, not those of the run that resumed after them."""
    from baselines.training import SWITCHABLE_FIELDS, with_defaults

    completed = with_defaults(type(config), saved)
    return dataclasses.replace(config, **{k: completed[k] for k in SWITCHABLE_FIELDS if k in completed})


def against_incumbent(args: argparse.Namespace, best: dict[str, Any], validator: Any) -> str | None:
    """Validate the weights at ``--export`` on the training's held-out sets and compare them with
    the best checkpoint ``best``: a sentence for the model card when the checkpoint meets more of
    the goals (:func:`baselines.validation.goals_met`), or as many and is better on more measures
    than it is worse (a tie goes to the one better on ``ideal_l1``, the measure that covers
    expression, the rest of the face and noise at once), else ``None`` (the file is kept)."""
    from baselines.registry import adapter_class
    from baselines.validation import HIGHER_IS_BETTER, compare_measures, goals_met

    theirs = validator.measure(adapter_class(args.method)().load(args.export))
    better, worse = compare_measures({m: best[m] for m in HIGHER_IS_BETTER if m in best}, theirs,
                                     min_delta=validator.plateau.min_delta)  # the run's own stopping-rule tolerance
    shown = ", ".join(f"{m} {theirs[m]:.4f}" for m in HIGHER_IS_BETTER if m in theirs)
    ours_goals, their_goals = goals_met(best), goals_met(theirs)
    line = (f"step {best['step']} against the weights it would replace ({args.export}: {shown}): goals met "
            f"{ours_goals} vs {their_goals}, better on {', '.join(better) or 'none'}, worse on {', '.join(worse) or 'none'}")  # fmt: skip
    if ours_goals != their_goals:
        replace = ours_goals > their_goals
    else:
        replace = len(better) > len(worse) or (len(better) == len(worse) and "ideal_l1" in better)
    if not replace:
        print(f"kept {args.export}: {line}")
        return None
    print(f"replacing {args.export}: {line}")
    goals = (f"it meets {ours_goals} of the goals validation measures where they met {their_goals}; "
             if ours_goals > their_goals else "")  # fmt: skip
    return f"On the same held-out faces it replaced weights that scored {shown}: {goals}better on {', '.join(better) or 'none'}" + (
        f", worse on {', '.join(worse)}." if worse else ".")


def finished(args: argparse.Namespace, trainer: Any, validator: Any) -> bool:
    """Whether a training has nothing left to do: its decay has ended, or, without one (and not
    asked to decay on a plateau), the stopping rule says it has converged."""
    from baselines.validation import read_history

    if trainer.decay_end is not None:
        return trainer.step >= trainer.decay_end
    return not args.decay_on_plateau and validator.plateau.converged(read_history(validator.history_path))


def run(args: argparse.Namespace) -> int:
    from baselines import training
    from baselines.training import TrainSettings

    if args.bf16 and not training.native_bf16():
        print("warning: --bf16 ignored: this CPU has no native bfloat16 (AVX-512 BF16 or AMX), where autocast "
              "emulates it about 80x slower than float32; training in float32 (the schedule records it)", file=sys.stderr)  # fmt: skip
        args.bf16 = False

    if args.budget_minutes < 0:
        raise ValueError(f"--budget-minutes must be >= 0, got {args.budget_minutes}")
    trainer_cls = trainer_class(args.method)
    settings = TrainSettings(batch=args.batch, seed=args.seed, pool_faces=args.pool_faces, threads=args.threads,
                             checkpoint_seconds=args.checkpoint_minutes * 60, n_critic=args.n_critic,
                             lr_g=args.lr_g, lr_d=args.lr_d, bf16=args.bf16, g_ema=args.g_ema,
                             generated_share=args.generated_share, generated_faces=args.generated_faces)  # fmt: skip
    if not 0.0 <= args.generated_share < 1.0:
        raise ValueError(f"--generated-share must be in [0, 1), got {args.generated_share}")
    if args.no_decay and not args.init_from:
        raise ValueError("--no-decay needs --init-from (it says how a start from a bundle treats the bundle's decay)")
    if args.critic_warmup is not None and args.critic_warmup < 0:
        raise ValueError(f"--critic-warmup must be >= 0, got {args.critic_warmup}")
    if args.decay_on_plateau and not args.until_converged:
        raise ValueError("--decay-on-plateau needs --until-converged (its stopping rule starts the decay)")
    if args.export_if_better and not (args.until_converged and args.export):
        raise ValueError("--export-if-better needs --until-converged (its validation) and --export (the file to beat)")
    if args.n_critic < 1 or args.lr_g <= 0 or args.lr_d <= 0:
        raise ValueError(f"--n-critic must be >= 1 and the learning rates > 0, got {args.n_critic}, {args.lr_g}, {args.lr_d}")
    if args.data_dir:
        settings.data_dir = args.data_dir
    settings.losses = parse_loss_weights(args.loss, trainer_cls.default_losses, args.method)
    trainer = trainer_cls(build_config(args.method, args.size, args.conv_dim, args.upsample_blur),
                          state_dir=args.state_dir, settings=settings)  # fmt: skip
    bundle_metadata: dict = {}
    if trainer.load_state():
        print(f"resumed {trainer.state_path} at step {trainer.step}")
    elif args.init_from:
        bundle_metadata = trainer.init_from(args.init_from, keep_decay=not args.no_decay)
        print(f"started from {args.init_from}: {trainer.schedule[-1]['init_from']}")
        if args.critic_warmup is None and "and critic" not in trainer.schedule[-1]["init_from"]:
            args.critic_warmup = DEFAULT_CRITIC_WARMUP
    if args.restart_ema:
        trainer.restart_ema()
        print(f"the weights' average restarts at the generator's weights of step {trainer.step}")
    if args.critic_warmup:
        trainer.warm_up_critic(args.critic_warmup)
        print(f"only the critic trains until step {trainer.critic_only_until}")
    validator = make_validator(args, trainer) if args.until_converged else None
    if validator is not None and validator.restore(bundle_metadata.get("validations", []), trainer):
        print(f"went on with the bundle's validation log ({validator.history_path})")
    if args.decay_until is not None:
        trainer.start_decay(args.decay_until)
    if validator is not None and finished(args, trainer, validator):
        print(f"{args.method}: converged already ({validator.history_path}); not training further")
    elif args.budget_minutes > 0:
        from aufx.stop_signals import stop_requested_on_signals

        with stop_requested_on_signals() as stop:
            trainer.run(max_steps=args.max_steps, budget_seconds=args.budget_minutes * 60, progress=True,
                        stop=stop.__bool__, validate=validator, validate_every=args.validate_every,
                        decay_on_plateau=args.decay_on_plateau)  # fmt: skip
        if stop:
            print(f"stopped by signal {stop.signal}; state written")
        if trainer.converged:
            print(f"{args.method}: converged at step {trainer.step} (validation log {validator.history_path})")
    print(f"{args.method}: {trainer.step} steps, {trainer.elapsed / 60:.1f} min of training")
    if args.export:
        export(args, trainer, validator)
    return 0
