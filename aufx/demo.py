"""The end-to-end demo behind ``make demo`` / ``aufx demo``: the paper's whole study, offline.

Stages, each timed and printed as it runs; the times go to ``demo_summary.json``:

1. models: find the generator, editor, region catalog, analyzer and baseline weights. All paths
   are resolved in one place, :func:`resolve_artefacts`. If one is missing, the demo stops with
   one line that names it and the command that makes it.
2. SynthFACS renders and 3. generated faces: picture grids of the world and of the bundled model.
4. stimuli: ``<out>/demo_spec.toml`` is written from ``examples/demo.toml``, then
   :func:`aufx.stimuli.run_stimuli` runs it. These are expression-transfer items, every aufx mode
   and every baseline (``--scheduler`` sends the work to a Dask cluster).
5. objective comparison: ``aufx compare`` on the stimuli.
6. SIMULATED study: the real study server on a free local port (``--db`` for PostgreSQL), with
   SIMULATED participants taking it over HTTP (:mod:`aufx.simulate`) and the admin export at the
   end.
7. analysis report: :func:`analysis.report.analyze` with the stimuli's metrics, labelled
   simulated.
8. recovery check: :mod:`aufx.simulate.recovery` compares the analysis with the true effects of
   the rater model and adds a section to the report.
"""

from __future__ import annotations

import html
import json
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aufx.defaults import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[1]
DEMO_SPEC = REPO / "examples" / "demo.toml"
REFERENCE = "aufx-local-mux"
BASELINE_KINDS = ("stargan", "ganimation", "cascade-efgan", "gan-local-editing")

#: Size of the demo: items (= source faces), SIMULATED participants (the last one inattentive),
#: optimisation steps of the aufx modes, and the GAN Local Editing fit.
SIZES: dict[str, dict[str, int]] = {
    "quick": {"items": 4, "participants": 10, "steps": 40, "local_steps": 15, "gle_images": 24, "gle_clusters": 6},
    "full": {"items": 12, "participants": 24, "steps": 100, "local_steps": 40, "gle_images": 64, "gle_clusters": 12},
}  # fmt: skip


# ---------------------------------------------------------------------------- artefacts
@dataclass(frozen=True)
class DemoArtefacts:
    """Every model file the demo uses (resolved by :func:`resolve_artefacts`).

    ``baselines`` maps each baseline kind to the spec's ``weights`` value: a path, ``"fit"`` or
    ``"random"``."""

    generator: str
    editor: Path
    regions: Path
    analyzer: str
    baselines: dict[str, str]

    def describe(self) -> dict[str, str]:
        return {"generator": self.generator, "editor": str(self.editor), "regions": str(self.regions),
                "analyzer": self.analyzer, **{f"baseline {k}": v for k, v in self.baselines.items()}}  # fmt: skip


def resolve_artefacts(
    model: str = DEFAULT_MODEL,
    editor: str | Path | None = None,
    regions: str | Path | None = None,
    analyzer: str | None = None,
    baselines_dir: str | Path | None = None,
    random_baselines: bool = False,
) -> DemoArtefacts:
    """The demo's model files. By default these are the bundled ones: ``aufx/weights/<model>_*`` and
    ``baselines/weights/<kind>.pt``, with GAN Local Editing fitted when it is not bundled.

    Raises FileNotFoundError with one line that names every missing file and the command that
    makes it."""
    from aufx.edit.engine import artefact_paths
    from aufx.gan.loaders import BUNDLED_MODELS, resolve_spec
    from baselines.base import WEIGHTS_DIR

    missing: list[str] = []
    generator = model if model in BUNDLED_MODELS else str(Path(model).expanduser().resolve())
    try:
        resolve_spec(generator)
    except (FileNotFoundError, ValueError) as error:
        missing.append(f"generator ({error}; train it with `aufx train generator` or pass --model PATH)")
    default_editor, default_regions = artefact_paths(generator)
    editor_path = Path(editor).resolve() if editor else default_editor
    regions_path = Path(regions).resolve() if regions else default_regions
    if not editor_path.is_file():
        out = f" --out {editor_path}" if editor else ""
        missing.append(f"global editor {editor_path} (make it with `aufx train editor --model {model}{out}`)")
    if not regions_path.is_file():
        out = f" --out {regions_path}" if regions else ""
        missing.append(f"region catalog {regions_path} (make it with `aufx train regions --model {model}{out}`)")
    analyzer = analyzer or "synthfacs"
    if analyzer not in ("synthfacs", "none"):
        analyzer = str(Path(analyzer).resolve())
        if not Path(analyzer).is_file():
            missing.append(f"face analyzer {analyzer} (train one with `aufx train analyzer`)")
    folder = Path(baselines_dir).resolve() if baselines_dir else WEIGHTS_DIR
    weights: dict[str, str] = {}
    for kind in BASELINE_KINDS:
        path = folder / f"{kind}.pt"
        if random_baselines:
            weights[kind] = "fit" if kind == "gan-local-editing" else "random"
        elif path.is_file():
            weights[kind] = str(path)
        elif kind == "gan-local-editing":
            weights[kind] = "fit"
        else:
            missing.append(f"{kind} weights {path} (make them with `aufx train {kind} --budget-minutes 120 "
                           f"--export {path}`)")  # fmt: skip
    if missing:
        raise FileNotFoundError(f"demo: missing {len(missing)} model file(s): " + "; ".join(missing))
    return DemoArtefacts(generator, editor_path, regions_path, analyzer, weights)


# ---------------------------------------------------------------------------- the spec
def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def dump_toml(data: dict[str, Any]) -> str:
    """A TOML document for the spec's shapes: scalars and arrays, tables, arrays of tables, one level of subtables."""
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, (dict, list)) or
             (isinstance(v, list) and not any(isinstance(x, dict) for x in v))]  # fmt: skip

    def table(header: str, body: dict[str, Any], array: bool) -> None:
        lines.extend(["", f"[[{header}]]" if array else f"[{header}]"])
        for key, value in body.items():
            if not isinstance(value, dict):
                lines.append(f"{key} = {_toml(value)}")
        for key, value in body.items():
            if isinstance(value, dict):
                table(f"{header}.{key}", value, False)

    for key, value in data.items():
        if isinstance(value, dict):
            table(key, value, False)
        elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            for entry in value:
                table(key, entry, True)
    return "\n".join(lines) + "\n"


def write_demo_spec(artefacts: DemoArtefacts, out: Path, quick: bool, template: Path = DEMO_SPEC) -> Path:
    """``<out>/demo_spec.toml``: ``examples/demo.toml`` with this run's models, size and steps."""
    if not template.is_file():
        raise FileNotFoundError(f"{template}: the demo's study spec is missing (it ships in the repository's examples/)")
    data = tomllib.loads(template.read_text(encoding="utf-8"))
    size = SIZES["quick" if quick else "full"]
    data["model"].update(generator=artefacts.generator, editor=str(artefacts.editor),
                         regions=str(artefacts.regions), analyzer=artefacts.analyzer)  # fmt: skip
    data["sources"]["seeds"] = f"0-{size['items'] - 1}"
    data["targets"]["seeds"] = f"1000-{1000 + size['items'] - 1}"
    for method in data["methods"]:
        if method["kind"] == "aufx":
            if "steps" in method:
                method["steps"] = size["steps"]
            if "local_steps" in method:
                method["local_steps"] = size["local_steps"]
        else:
            method["weights"] = artefacts.baselines[method["kind"]]
            if method["kind"] == "gan-local-editing":
                method.update(n_images=size["gle_images"], n_clusters=size["gle_clusters"])
    n_main = size["items"] * len(data["methods"])
    data["study"]["attention_checks"] = [c for c in data["study"].get("attention_checks", []) if c <= n_main]
    path = out / "demo_spec.toml"
    path.write_text("# Written by `aufx demo` from examples/demo.toml (models, size and steps of this run).\n"
                    + dump_toml(data), encoding="utf-8")  # fmt: skip
    return path


# ---------------------------------------------------------------------------- the stages
@dataclass
class DemoContext:
    """Settings of a run and what the stages pass on to each other."""

    out: Path
    quick: bool
    model: str = DEFAULT_MODEL
    artefacts: DemoArtefacts | None = None
    artefact_options: dict[str, Any] = field(default_factory=dict)
    scheduler: str | None = None
    workers: int = 0
    db_url: str | None = None
    seed: int = 0
    spec_template: Path = DEMO_SPEC
    outputs: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> dict[str, int]:
        return SIZES["quick" if self.quick else "full"]


Stage = Callable[[DemoContext], dict[str, str]]


def stage_models(ctx: DemoContext) -> dict[str, str]:
    """Find every model file (or stop with the one-line list of what is missing)."""
    ctx.artefacts = resolve_artefacts(ctx.model, **ctx.artefact_options)
    return ctx.artefacts.describe()


def stage_synthfacs(ctx: DemoContext) -> dict[str, str]:
    """Render SynthFACS faces (the ground-truth world the bundled model was trained on)."""
    from aufx.imageio import save_grid
    from aufx.synthfacs import render, sample_params

    params = sample_params(16 if ctx.quick else 64, seed=0)
    images = render(params.aus, params.identity, size=64, with_parts=False).images
    return {"synthfacs_grid": str(save_grid(images, ctx.out / "synthfacs_grid.png", nrow=8))}


def stage_generate(ctx: DemoContext) -> dict[str, str]:
    """Generate faces from the generator (seeds as in NVIDIA's generate.py, psi 0.7)."""
    import torch

    from aufx.gan.loaders import load_generator
    from aufx.gan.seeds import seed_latents
    from aufx.imageio import save_grid

    model = load_generator(ctx.artefacts.generator if ctx.artefacts else ctx.model)
    z = seed_latents(model.generator.z_dim, range(16 if ctx.quick else 64))
    with torch.no_grad():
        images = model.generator(z, truncation_psi=0.7, noise_mode="const")
    return {"generated_grid": str(save_grid(images, ctx.out / "generated_grid.png", nrow=8))}


def stage_stimuli(ctx: DemoContext) -> dict[str, str]:
    """The stimulus set of the demo spec: every item × every method, metrics and contact sheet."""
    from aufx.stimuli import load_spec, run_stimuli

    assert ctx.artefacts is not None
    spec_path = write_demo_spec(ctx.artefacts, ctx.out, ctx.quick, ctx.spec_template)
    folder = ctx.out / "stimuli"
    summary = run_stimuli(load_spec(spec_path), folder, workers=ctx.workers, scheduler=ctx.scheduler)
    ctx.state["stimuli"] = folder
    print(f"      {len(summary.plan.stimuli)} stimuli ({summary.ran} made, {summary.skipped} already there)")
    return {"spec": str(spec_path), "stimuli": str(folder), **{k: str(v) for k, v in summary.outputs.items()}}


def stage_compare(ctx: DemoContext) -> dict[str, str]:
    """The objective comparison of the methods (``aufx compare``)."""
    from aufx.stimuli.compare import compare

    paths = compare(ctx.state["stimuli"])
    return {f"comparison_{k}": str(v) for k, v in paths.items()}


def stage_study(ctx: DemoContext) -> dict[str, str]:
    """SIMULATED participants take the study over HTTP; the admin export is saved."""
    import pandas as pd

    from aufx.simulate.raters import RaterModel, means_from_metrics
    from aufx.simulate.study import run_simulated_study
    from study_server.study import load_study

    folder = ctx.state["stimuli"]
    study = load_study(folder)
    model = RaterModel(points=study.scale_points)
    table = means_from_metrics(pd.read_csv(folder / "metrics.csv"), list(study.question_ids), model)
    db_url = ctx.db_url
    if not db_url:
        db_file = ctx.out / "simulated_study.sqlite3"
        for stale in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            stale.unlink(missing_ok=True)  # every run simulates a fresh study
        db_url = f"sqlite:///{db_file}"
    n = ctx.size["participants"]
    result = run_simulated_study(folder, table, model, n, db_url, seed=ctx.seed, n_inattentive=1,
                                 on_done=lambda k: print(f"\r      SIMULATED participants finished: {k}/{n}",
                                                         end="", flush=True))  # fmt: skip
    print()
    export = ctx.out / "ratings_SIMULATED.csv"
    export.write_text(result.export_csv, encoding="utf-8")
    (ctx.out / "simulation.json").write_text(json.dumps({
        "SIMULATED": "every rating in this demo comes from the rater model of aufx.simulate.raters, not from people",
        "rater_model": model.describe(), "participants": n, "inattentive_participants": len(result.inattentive),
        "server": result.url, "database": db_url.split("@")[-1], "pages_per_participant": [log.pages for log in result.logs],
        "reloaded_at_trial": [log.reloaded_at for log in result.logs],
    }, indent=2))  # fmt: skip
    ctx.state.update(table=table, rater_model=model, ratings=export)
    return {"ratings (SIMULATED)": str(export), "simulation": str(ctx.out / "simulation.json")}


def stage_report(ctx: DemoContext) -> dict[str, str]:
    """``aufx analyze`` on the export, with the stimuli's metrics; labelled simulated.

    ``--quick`` leaves out the mixed and ordinal models (``aufx analyze --skip-models``)."""
    from analysis.report import analyze

    report = ctx.out / "report"
    result = analyze(ctx.state["ratings"], report, metrics=ctx.state["stimuli"] / "metrics.csv",
                     reference=REFERENCE, simulated=True, models=not ctx.quick)  # fmt: skip
    for message in result.warnings:
        print(f"      analysis warning: {message}")
    ctx.state["analysis"] = result
    return {"report": str(report / "report.html")}


def stage_recovery(ctx: DemoContext) -> dict[str, str]:
    """Compare the analysis with the rater model's true effects; add a section to the report."""
    from aufx.simulate.recovery import check_recovery

    result = ctx.state["analysis"]
    recovery = check_recovery(ctx.state["table"], ctx.state["rater_model"], result.tables["ttests"],
                              result.tables["descriptives"])  # fmt: skip
    tables = ctx.out / "report" / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    recovery.decisions.to_csv(tables / "recovery_decisions.csv", index=False, float_format="%.6g")
    recovery.ordering.to_csv(tables / "recovery_ordering.csv", index=False, float_format="%.6g")
    recovery.means.to_csv(tables / "recovery_means.csv", index=False, float_format="%.6g")
    add_recovery_section(ctx.out / "report" / "report.html", recovery)
    print("      " + recovery.text().replace("\n", "\n      "))
    ctx.state["recovery"] = recovery
    return {"recovery": "PASSED" if recovery.passed else "FAILED", "recovery_tables": str(tables / "recovery_decisions.csv")}


def add_recovery_section(report: Path, recovery: Any) -> None:
    """Insert the recovery check (text and tables) into ``report.html`` before ``</body>``."""
    text = report.read_text(encoding="utf-8")
    shown = recovery.decisions[["question", "A", "B", "n", "true_diff", "observed_diff", "power", "p-val",
                                "expected", "significant", "agrees"]]  # fmt: skip
    section = (
        '<section id="recovery"><h2>Recovery check (SIMULATED raters)</h2>'
        "<p>The ratings of this report are SIMULATED by the rater model of <code>aufx.simulate.raters</code>: "
        "each question's latent score comes from the stimulus's objective metrics, and each participant "
        "adds a bias and noise. Likert thresholds turn the result into a rating. The true mean of every "
        "method and the power of every paired t-test are therefore known. A comparison is judged when its "
        f"power is at least {recovery.judge_power:g} (alpha {recovery.alpha:g}).</p>"
        f"<pre>{html.escape(recovery.text())}</pre>"
        "<h3>Paired t-tests against the truth</h3>"
        + shown.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0)
        + "<h3>Method means: true (expected rating) and observed</h3>"
        + recovery.means.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)
        + "</section>"
    )
    marker = "</body>"
    text = text.replace(marker, section + marker, 1) if marker in text else text + section
    report.write_text(text, encoding="utf-8")


#: (name, stage) in pipeline order.
STAGES: list[tuple[str, Stage]] = [
    ("models", stage_models),
    ("SynthFACS renders", stage_synthfacs),
    ("generate faces", stage_generate),
    ("stimuli (expression transfer, all methods)", stage_stimuli),
    ("objective comparison", stage_compare),
    ("SIMULATED study over HTTP", stage_study),
    ("analysis report", stage_report),
    ("recovery check", stage_recovery),
]


def run_demo(out: Path, quick: bool = False, model: str = DEFAULT_MODEL, **options: Any) -> DemoContext:
    """Run every stage (see the module doc); returns the context with ``outputs`` and timings.

    ``options``: ``scheduler``, ``workers``, ``db_url``, ``seed``, ``spec_template`` (default
    ``examples/demo.toml``) and ``artefact_options`` (the keywords of :func:`resolve_artefacts`
    besides ``model``)."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, quick=quick, model=model, **options)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    total, total_cpu = time.perf_counter(), time.process_time()
    for index, (name, stage) in enumerate(STAGES, start=1):
        print(f"[{index}/{len(STAGES)}] {name} ...", flush=True)
        start, start_cpu = time.perf_counter(), time.process_time()
        produced = stage(ctx)
        timings[name] = round(time.perf_counter() - start, 2)
        cpu[name] = round(time.process_time() - start_cpu, 2)
        ctx.outputs.update(produced)
        for label, path in produced.items():
            print(f"      {label}: {path}")
        print(f"      done in {timings[name]:.1f} s (CPU of this process {cpu[name]:.1f} s)", flush=True)
    timings["total"] = round(time.perf_counter() - total, 2)
    cpu["total"] = round(time.process_time() - total_cpu, 2)
    ctx.state["seconds"] = timings
    recovery = ctx.state.get("recovery")
    summary = {"SIMULATED": "the ratings and the report come from simulated participants",
               "outputs": ctx.outputs, "seconds": timings, "cpu_seconds": cpu, "quick": quick, "size": ctx.size,
               "scheduler": ctx.scheduler, "database": (ctx.db_url or "sqlite").split("@")[-1],
               "recovery_passed": None if recovery is None else recovery.passed}  # fmt: skip
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2))
    return ctx


def closing_words(ctx: DemoContext) -> str:
    """Where everything is, and how to take the study yourself."""
    out, report = ctx.out, ctx.out / "report" / "report.html"
    return "\n".join([
        f"demo finished in {ctx.state['seconds']['total']:.0f} s; everything is in {out}/",
        f"  stimuli and contact sheet:  {out / 'stimuli'}/ (contact_sheet.png, manifest.csv, metrics.csv)",
        f"  objective comparison:       {out / 'stimuli' / 'comparison.md'}",
        f"  ratings (SIMULATED):        {out / 'ratings_SIMULATED.csv'}",
        f"  report (SIMULATED data):    {report}   (open file://{report} in a browser)",
        f"  recovery check:             {ctx.outputs.get('recovery', '?')} (section 'Recovery check' of the report)",
        f"  times per stage:            {out / 'demo_summary.json'}",
        "Rate the stimuli yourself (a fresh database, no simulated data):",
        f"  aufx serve --study {out / 'stimuli'}   then open http://127.0.0.1:5000/ (admin: /admin/)",
    ])  # fmt: skip
