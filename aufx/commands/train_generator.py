"""``aufx train generator``: train (or resume) the bundled SynthFACS StyleGAN2 in the background.

    aufx train generator --distill --budget-minutes 600 --export aufx/weights/synthfacs128.pt
                                                         # the bundled model: distilled from the renderer
    aufx train pool --chunks 38                          # adversarial training reads a render pool
    aufx train generator --budget-minutes 120            # resumes ~/.cache/aufx/generator if there
    aufx train generator --export ~/.cache/aufx/generator/adversarial.pt --budget-minutes 0   # export only
    aufx train generator --distill --init-from aufx/weights/synthfacs128.pt   # a new machine resumes the bundle

A run checkpoints every few minutes to the state directory and, at each checkpoint, exports
G_ema (with an fp16 copy of D) to ``--export`` so that the latest weights can be bundled.
With no state directory, training starts from the export file if it exists, else from
``--init-from`` (e.g. the bundled model), so a new machine continues where the last one stopped;
with neither it starts from random weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_STATE_DIR = "~/.cache/aufx/generator"
DEFAULT_DISTILL_STATE_DIR = "~/.cache/aufx/distill128"
DISTILL_REPRODUCE = (
    "aufx train generator --distill --state-dir ~/.cache/aufx/distill128 --budget-minutes 600 "
    "--export aufx/weights/synthfacs128.pt --seed 0"
)
DISTILL_DATA_NOTE = (
    "SynthFACS renders of `params_from_z(z)` (aufx.synthfacs.latent), rendered fresh for every batch: "
    "G(z) is trained to reproduce the renderer's image of z's scene"
)
REPRODUCE = (
    "aufx train pool --chunks 38 && aufx train generator --state-dir ~/.cache/aufx/generator "
    "--budget-minutes 600 --export ~/.cache/aufx/generator/adversarial.pt --seed 0"
)


DATA_NOTE = "SynthFACS render pool: 38,000 faces from `aufx train pool` (seeds 1000000+chunk)"


def quality_json(export: Path) -> dict | None:
    """The ``aufx model quality --json`` file beside ``export`` (``NAME.quality.json``), if any."""
    import json

    path = export.with_name(export.stem + ".quality.json")
    return json.loads(path.read_text()) if path.is_file() else None


def quality_section(quality: dict | None) -> str:
    """Markdown lines for the model card from a quality JSON (``aufx.gan.quality``), or a 'not measured' note."""
    if not quality:
        return ("Status: training is in progress across sessions; quality measures (Fréchet distance of analyzer\n"
                "features vs renders, AU marginals) are not measured yet.")  # fmt: skip
    fd, floor, div = quality["fd"], quality["fd_floor"], quality["diversity"]
    return f"""Status: training is in progress across sessions.

Quality (measured at {quality.get("kimg", "?")} kimg, {quality.get("date", "?")}, N = {quality["n"]} per set;
`{quality.get("command", "aufx model quality")}`; floor = two disjoint render sets):

| measure | generated vs renders | floor |
|---|---:|---:|
| FD, pooled analyzer encoder features | {fd["pooled"]:.3f} | {floor["pooled"]:.3f} |
| FD, identity embedding + AU intensities | {fd["heads"]:.3f} | {floor["heads"]:.3f} |
| AU marginals, mean 1-D Wasserstein | {quality["au_w1_mean"]:.3f} | {quality["au_w1_floor_mean"]:.3f} |
| identity diversity (mean cosine distance; generated / renders) | {div["generated"]:.3f} | {div["renders"]:.3f} |"""


def _distill_rows(trainer) -> tuple[str, str, str, str]:
    """Model-card rows (data, loss, optimiser, command) of a distillation run."""
    cfg = trainer.config
    expression = f", pixels the AUs change +{cfg.expression_weight:g}" if cfg.expression_weight > 0 else ""
    loss = (f"L1 (brow, eye, nose and mouth pixels × {1 + cfg.part_weight:g}{expression}) + {cfg.pyramid_weight:g} × pyramid L1 (2×, 4×, 8× pooled) + {cfg.perceptual_weight:g} × L1 of the "
            f"bundled analyzer's encoder features; constant noise")  # fmt: skip
    if cfg.adv_weight > 0:
        loss += f"; adversarial term {cfg.adv_weight:g} from {cfg.adv_start_kimg:g} kimg"
    optimiser = (f"Adam lr {cfg.lr:g}, betas ({cfg.beta1:g}, {cfg.beta2:g}), mapping lr multiplier "
                 f"{cfg.mapping_lr_multiplier:g}, batch {cfg.batch}; G_ema half-life {cfg.ema_nimg / 1000:g} kimg")  # fmt: skip
    phases = read_phases(trainer.state_dir)
    if len(phases) > 1:
        optimiser += "; phases of the run (from kimg: settings): " + "; ".join(
            f"{p['kimg']:g}: " + ", ".join(f"{k} {p[k]:g}" for k in PHASE_KEYS) for p in phases
        )  # fmt: skip
    return DISTILL_DATA_NOTE, loss, optimiser, DISTILL_REPRODUCE


#: Settings a resumed distillation run may change; each change starts a phase in ``phases.jsonl``.
PHASE_KEYS = ("lr", "part_weight", "expression_weight", "perceptual_weight", "adv_weight")


def read_phases(state_dir: Path) -> list[dict]:
    """The phases recorded in ``state_dir/phases.jsonl`` (oldest first; empty if none)."""
    path = Path(state_dir) / "phases.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def record_phase(trainer) -> None:
    """Append this run's :data:`PHASE_KEYS` settings, from its current kimg, when they differ from the last phase."""
    settings = {key: getattr(trainer.config, key) for key in PHASE_KEYS}
    phases = read_phases(trainer.state_dir)
    if phases and all(phases[-1][key] == value for key, value in settings.items()):
        return
    trainer.state_dir.mkdir(parents=True, exist_ok=True)
    with open(Path(trainer.state_dir) / "phases.jsonl", "a") as handle:
        handle.write(json.dumps({"kimg": round(trainer.nimg / 1000, 3), **settings}) + "\n")


def model_card(trainer, name: str, quality: dict | None = None) -> str:
    """A Markdown model card for an exported generator: architecture, data, budget, reproduction,
    and the quality measures of ``quality`` (see :func:`quality_json`) when given."""
    from aufx.gan.distill import DistillTrainer

    cfg = trainer.config
    g = trainer.G_ema.config
    if isinstance(trainer, DistillTrainer):
        data, loss, optimiser, command = _distill_rows(trainer)
        kind = "distilled from the SynthFACS renderer (regression on renders of each latent's known scene)"
    else:
        data, command = DATA_NOTE, REPRODUCE
        loss = (f"non-saturating logistic, lazy R1 (gamma {cfg.gamma:g}, every {cfg.r1_interval} D steps), "
                f"style mixing {cfg.style_mixing:g}")  # fmt: skip
        optimiser = f"Adam lr {cfg.lr:g}, betas (0, 0.99), batch {cfg.batch}; G_ema half-life {cfg.ema_nimg / 1000:g} kimg"
        kind = "trained adversarially on SynthFACS renders"
    samples = sorted((trainer.state_dir / "samples").glob("kimg*.png"))
    d_note = ", whose metadata carries an fp16 copy of D" if trainer.exports_discriminator else " (no discriminator is trained, so none is carried)"
    return f"""# Model card: `{name}`

StyleGAN2 (aufx's pure-PyTorch engine, NVIDIA layer names), {kind}.

| | |
|---|---|
| resolution | {g.img_resolution}×{g.img_resolution}, 3 channels; `b32.conv1` is the paper's 7th layer (32×32) |
| channels | min({g.channel_base} // res, {g.channel_max}); z_dim {g.z_dim}, w_dim {g.w_dim}, {g.mapping_layers} mapping layers |
| parameters | {sum(p.numel() for p in trainer.G_ema.parameters()) / 1e6:.2f} M (G), {sum(p.numel() for p in trainer.D.parameters()) / 1e6:.2f} M (D) |
| data | {data} |
| loss | {loss} |
| optimiser | {optimiser} |
| seed | {cfg.seed} |
| trained so far | **{trainer.nimg / 1000:.1f} kimg**, {trainer.step} steps, {trainer.elapsed / 3600:.2f} h of wall time on a shared 2-core CPU |
| latest sample grid | `{samples[-1].name if samples else "none yet"}` (in the training state directory) |

Reproduce (resumes where the state directory stands; on a new machine add `--init-from` this
file{d_note}, or it starts from random weights):

```
{command}
```

{quality_section(quality)}
"""


def add_parser(train_subparsers: argparse._SubParsersAction) -> None:
    parser = train_subparsers.add_parser(
        "generator", help="train the SynthFACS StyleGAN2 (resumable)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--distill", action="store_true",
                        help="distil the renderer (the bundled synthfacs128 recipe) instead of adversarial training")
    parser.add_argument("--state-dir", default=None,
                        help=f"checkpoints, log, samples (default {DEFAULT_STATE_DIR}; with --distill {DEFAULT_DISTILL_STATE_DIR})")
    parser.add_argument("--budget-minutes", type=float, default=60.0, help="wall-clock budget of this call")
    parser.add_argument("--total-kimg", type=float, default=None, help="stop at this many thousand images")
    parser.add_argument("--export", default=None, help="write G_ema here (aufx format) at every checkpoint")
    parser.add_argument("--init-from", default=None,
                        help="with no state and no --export file yet: start from these exported weights "
                             "(e.g. aufx/weights/synthfacs128.pt on a new machine)")  # fmt: skip
    parser.add_argument("--resolution", type=int, default=None, help="default 64; with --distill 128")
    parser.add_argument("--channel-base", type=int, default=2048)
    parser.add_argument("--channel-max", type=int, default=64)
    parser.add_argument("--mapping-layers", type=int, default=None,
                        help="default 2 (NVIDIA's small-data config); with --distill 4")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=None, help="default 0.0025; with --distill 0.002")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--data", choices=("pool", "render"), default="pool",
                        help="adversarial training: read the render pool (default) or render fresh faces every batch")
    parser.add_argument("--pool-dir", default=None, help="render pool directory (default ~/.cache/aufx/synthfacs_pool)")
    parser.add_argument("--perceptual-weight", type=float, default=0.5, help="--distill: weight of the analyzer-feature L1")
    parser.add_argument("--part-weight", type=float, default=3.0,
                        help="--distill: extra L1 weight of brow, eye, nose and mouth pixels")
    parser.add_argument("--expression-weight", type=float, default=0.0,
                        help="--distill: extra L1 weight of the pixels the face's AUs change (against its neutral render)")
    parser.add_argument("--adv-weight", type=float, default=0.0, help="--distill: weight of the late adversarial term (0: off)")
    parser.add_argument("--adv-start-kimg", type=float, default=0.0, help="--distill: kimg at which the adversarial term starts")
    parser.set_defaults(handler=run)

    pool = train_subparsers.add_parser("pool", help="render the SynthFACS image pool the generator trains on")
    pool.add_argument("--chunks", type=int, default=30, help="number of chunks of --chunk-size faces")
    pool.add_argument("--chunk-size", type=int, default=1000)
    pool.add_argument("--resolution", type=int, default=64)
    pool.add_argument("--pool-dir", default=None)
    pool.set_defaults(handler=run_pool)


def run_pool(args: argparse.Namespace) -> int:
    from aufx.gan.data import DEFAULT_POOL_DIR, build_pool

    if args.chunks <= 0 or args.chunk_size <= 0:
        raise ValueError(f"--chunks and --chunk-size must be positive, got {args.chunks} and {args.chunk_size}")
    paths = build_pool(args.pool_dir or DEFAULT_POOL_DIR, args.chunks, args.chunk_size, args.resolution)
    print(f"{len(paths)} chunks ({len(paths) * args.chunk_size} faces) in {paths[0].parent}")
    return 0


def _given(value, default):
    return default if value is None else value


def build_trainer(args: argparse.Namespace):
    """The trainer the arguments ask for: :class:`DistillTrainer` with ``--distill``, else adversarial."""
    from aufx.gan.data import DEFAULT_POOL_DIR, pool_source, synthfacs_source
    from aufx.gan.distill import DistillConfig, DistillTrainer
    from aufx.gan.trainer import GeneratorTrainer, TrainConfig

    common = dict(channel_base=args.channel_base, channel_max=args.channel_max, batch=args.batch,
                  seed=args.seed, checkpoint_minutes=args.checkpoint_minutes)  # fmt: skip
    if args.distill:
        from aufx.au.model import FaceAnalyzer

        defaults = DistillConfig()
        config = DistillConfig(
            resolution=_given(args.resolution, defaults.resolution), lr=_given(args.lr, defaults.lr),
            mapping_layers=_given(args.mapping_layers, defaults.mapping_layers),
            perceptual_weight=args.perceptual_weight, part_weight=args.part_weight, adv_weight=args.adv_weight,
            expression_weight=args.expression_weight,
            adv_start_kimg=args.adv_start_kimg, **common,
        )  # fmt: skip
        analyzer = FaceAnalyzer.load_bundled() if config.perceptual_weight > 0 else None
        return DistillTrainer(config, _given(args.state_dir, DEFAULT_DISTILL_STATE_DIR), analyzer=analyzer)
    defaults = TrainConfig()
    config = TrainConfig(
        resolution=_given(args.resolution, defaults.resolution), lr=_given(args.lr, defaults.lr),
        mapping_layers=_given(args.mapping_layers, defaults.mapping_layers), **common,
    )  # fmt: skip
    if args.data == "pool":
        source = pool_source(args.pool_dir or DEFAULT_POOL_DIR)
    else:
        source = synthfacs_source(config.resolution)
    return GeneratorTrainer(config, source, _given(args.state_dir, DEFAULT_STATE_DIR))


def run(args: argparse.Namespace) -> int:
    import torch

    from aufx.gan.checkpoint import load_aufx
    from aufx.gan.trainer import GeneratorTrainer
    from aufx.stop_signals import stop_requested_on_signals

    if args.budget_minutes < 0:
        raise ValueError(f"--budget-minutes must be >= 0, got {args.budget_minutes}")
    if args.threads:
        torch.set_num_threads(args.threads)
    trainer = build_trainer(args)
    command, data = (DISTILL_REPRODUCE, DISTILL_DATA_NOTE) if args.distill else (REPRODUCE, DATA_NOTE)
    export = Path(args.export) if args.export else None
    if trainer.load_state():
        print(f"resumed {trainer.state_path} at {trainer.nimg / 1000:.1f} kimg, step {trainer.step}")
    elif (start := _start_file(export, args.init_from)) is not None:
        generator, metadata = load_aufx(start)
        trainer.init_from(generator.state_dict(), metadata.get("discriminator_fp16"))
        trainer.nimg = int(metadata.get("kimg", 0) * 1000)
        trainer.step = int(metadata.get("steps", 0))
        trainer.elapsed = float(metadata.get("train_seconds", 0))
        print(f"started from exported weights {start} ({trainer.nimg / 1000:.1f} kimg)")

    if args.distill and args.budget_minutes > 0:
        record_phase(trainer)

    def on_checkpoint(t: GeneratorTrainer) -> None:
        if export is not None:
            t.export(export, {"command": command, "data": data})
            export.with_suffix(".md").write_text(model_card(t, export.stem, quality_json(export)))

    if args.budget_minutes > 0:
        with stop_requested_on_signals() as stop:
            trainer.run(budget_seconds=args.budget_minutes * 60, total_kimg=args.total_kimg,
                        on_checkpoint=on_checkpoint, stop=stop.__bool__)  # fmt: skip
        if stop:
            print(f"stopped by signal {stop.signal}; state and export written")
    else:
        on_checkpoint(trainer)
    print(f"{trainer.nimg / 1000:.1f} kimg, {trainer.step} steps, {trainer.elapsed / 3600:.2f} h of training")
    return 0


def _start_file(export: Path | None, init_from: str | None) -> Path | None:
    """Exported weights to start from when there is no state: the export file, else ``--init-from``."""
    if export is not None and export.is_file():
        return export
    if init_from is None:
        return None
    path = Path(init_from).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--init-from {init_from}: no such file")
    return path
