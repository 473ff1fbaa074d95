"""Every method on the same faces (issues 6 and 17): right direction, engine metrics, image quality, throughput.

    nice -n 10 .venv/bin/python benchmarks/bench_baselines_quality.py                 # N = 100 faces
    .venv/bin/python benchmarks/bench_baselines_quality.py --n 100 --write-results --write-docs

One run on ``--n`` faces of the bundled generator (``synthfacs128``, seeds 0..N-1, ψ = 1, so that
every source face has its true scene: true AUs and identity, :mod:`aufx.synthfacs.latent`), every
method on the same faces, through the stimuli pipeline's own code
(:mod:`aufx.stimuli.work`: face units, ``run_stimulus`` — the edit, the PNG round trip and the
engine's metrics of every stimulus):

* **AU edits** (every method but StarGAN; GAN Local Editing copies the AU's region from the bank
  face nearest to the wanted AUs, :mod:`baselines.gan_local_editing`): each of
  ``--aus`` raised by ``--change`` (default +2) from the analyzer's estimate on the source face,
  clamped to 0..5, as an absolute target (the same target vector for every method). Reported: the
  analyzer's change of the raised AU (mean, 95 % CI, share of edits > 0). "Right direction" =
  the CI lies above 0.
* **Emotion edits** (StarGAN by class; the others by the EMFACS prototype
  AUs at intensity 3, the stimuli pipeline's mapping): every face to each of the seven expressive
  RaFD classes (neutral has no prototype AUs to set, so the stimuli pipeline does not offer it as
  an edit). A multinomial logistic regression on the analyzer's 16 AU estimates, fitted on
  SynthFACS *renders* with known labels (EMFACS prototype faces and neutral faces of
  ``aufx.synthfacs.sample_mixture_params``, labelled by mixture component; 8 classes) and never on edits, classifies each edited face;
  reported: accuracy (Wilson 95 % CI) vs chance = 1/7 (the number of requested classes), and the
  classifier's own accuracy on held-out renders.
* **Engine metrics** (``aufx.metrics`` via the stimuli pipeline): target change, leakage,
  out-of-region change (``outside_share``) and identity drift, mean ± 95 % CI half-width, one row
  per method and edit kind.
* **Image quality and disentanglement**: per method and edit kind, the Fréchet distance of the
  analyzer's pooled features (``aufx.metrics.realism_features``) between the method's outputs and
  the **ideal outputs** — renders of each source's true identity with the edit's target AUs (the
  source's true AUs, the target set) — beside the unedited sources' distance to the same ideals;
  the noise ratio (``aufx.metrics.noise_ratio``: texture where the ideal is flat, over the
  unedited sources') and the high-frequency ratio (``aufx.metrics.high_frequency_ratio``);
  and Attribute Dependency of the AU edits (``aufx.metrics.attribute_dependency``; σ of each AU:
  the analyzer's spread over the N sources).
* **Throughput**: images/s of each method's edit at ``--batch`` (wall and per process CPU-second,
  ``baselines.benchmark``'s timer), aufx from latents, baselines from images.
* **Contact sheet**: rows = faces (``--sheet-rows``), columns = source then methods, for one AU
  edit (AU12) and one emotion (happy) — ``docs/img/baselines_comparison.png`` with
  ``--write-docs``, else in ``--out``.

The Markdown section goes to stdout; ``--write-results`` replaces the section
``## Every method on the same faces (issues 6 and 17)`` of ``benchmarks/RESULTS.md`` (or the
earlier run's ``## Baselines on the bundled model (issue 6)``; else created after ``## Baselines``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_md import replace_section  # noqa: E402

from aufx.defaults import DEFAULT_MODEL  # noqa: E402
from baselines.emotion_classifier import fit_emotion_classifier  # noqa: E402
from baselines.validation import GOAL_EMOTION_ACCURACY, GOAL_NOISE_RATIO  # noqa: E402

SECTION = "## Every method on the same faces (issues 6 and 17)"
#: The heading of the section before issue 17 (one comparison on the 64 px world): replaced by SECTION.
OLD_SECTION = "## Baselines on the bundled model (issue 6)"
AFTER_SECTION = "## Baselines"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
DOCS_IMAGE = ROOT / "docs" / "img" / "baselines_comparison.png"
DEFAULT_OUT = Path("~/.cache/aufx/bench_baselines").expanduser()
DEFAULT_AUS = ("AU01", "AU04", "AU06", "AU12", "AU15", "AU20", "AU25", "AU26")
DEFAULT_METHODS = ("stargan", "ganimation", "cascade-efgan", "gan-local-editing", "interfacegan", "stylespace",
                   "aufx-global-linear", "aufx-global-opt", "aufx-local-mux", "aufx-local-opt")  # fmt: skip
TRAINED = ("stargan", "ganimation", "cascade-efgan")
SHEET_AU, SHEET_EMOTION = "AU12", "happy"
METRICS = ("target_change", "leakage", "outside_share", "identity_drift")


def _emotions() -> tuple[str, ...]:
    from aufx.aus import RAFD_EMOTIONS, RAFD_TO_PROTOTYPE

    return tuple(e for e in RAFD_EMOTIONS if RAFD_TO_PROTOTYPE[e] is not None)


# ---------------------------------------------------------------------------- the spec and plan
def method_table(name: str) -> dict[str, Any]:
    """A ``[[methods]]`` table of the stimuli spec for a method name (``aufx-<mode>`` or a baseline)."""
    from aufx.stimuli.spec import AUFX_MODES, SUPPORTS

    if name.startswith("aufx-") and name[5:] in AUFX_MODES:
        return {"kind": "aufx", "mode": name[5:]}
    if name in SUPPORTS and name != "aufx":
        if not {"au", "emotion"} & set(SUPPORTS[name]):
            raise SystemExit(f"--methods: {name} takes neither AU nor emotion targets (it does: "
                             f"{', '.join(SUPPORTS[name])}); its throughput is in `python -m baselines.benchmark`")  # fmt: skip
        return {"kind": name, "weights": "bundled"}  # GAN Local Editing's catalog too (its spec default is "fit")
    valid = [m for m in SUPPORTS if m != "aufx"] + [f"aufx-{m}" for m in AUFX_MODES]
    raise SystemExit(f"--methods: unknown method {name!r}; valid: {', '.join(valid)}")


def build(args: argparse.Namespace) -> tuple[Any, Any]:
    """(spec, plan) of the run: N seed faces, one AU task and one emotion task, the methods."""
    from aufx.stimuli.plan import build_plan
    from aufx.stimuli.spec import parse_spec

    data = {
        "name": "bench-baselines-quality", "seed": 0, "image_size": 128,
        "model": {"generator": DEFAULT_MODEL, "analyzer": "synthfacs", "psi": 1.0},
        "sources": {"kind": "seeds", "seeds": list(range(args.n))},
        "tasks": [{"kind": "au", "edits": [{au: args.change} for au in args.aus], "relative": True},
                  {"kind": "emotion", "emotions": list(_emotions()), "intensity": args.intensity}],
        "methods": [method_table(m) for m in args.methods],
        "study": {"design": "within"},
    }  # fmt: skip
    spec = parse_spec(data, ROOT / "benchmarks" / "bench_baselines_quality.toml")
    return spec, build_plan(spec)


def absolute_au_edit(unit: dict[str, Any], source_aus: np.ndarray) -> dict[str, Any]:
    """The AU unit with its relative change turned into an absolute target from the analyzer's estimate.

    Every method then gets the same target (aufx's relative edits would start from its editor's
    prediction instead of the analyzer's estimate).
    """
    from aufx.aus import AU_INDEX

    (code, change), = unit["edit"]["aus"].items()
    base = float(np.nan_to_num(source_aus[AU_INDEX[code]]))
    target = float(np.clip(base + change, 0.0, 5.0))
    return {**unit, "edit": {"kind": "au", "aus": {code: target}, "relative": False},
            "raised": code, "requested": target - base}  # fmt: skip


def run_in_parallel(plan: Any, units: list[dict[str, Any]], work_dir: Path, workers: int, progress: bool) -> int:
    """Run the edit units as a wave of the stimuli pipeline (:func:`aufx.stimuli.run._wave` on a
    local Dask cluster of ``workers`` processes: units batched by method, one torch thread each),
    writing their records to ``work_dir``; returns how many were there already. Failed units stop
    the benchmark once the wave has finished."""
    from aufx.stimuli.run import RunSummary, _wave, dask_executor

    summary = RunSummary(plan)
    with dask_executor(workers) as execute:
        _wave(units, work_dir, f"edits ({workers} workers)", execute, summary, progress)
    if summary.failed:
        raise RuntimeError(f"{len(summary.failed)} edits failed: " + "; ".join(summary.failed[:3]))
    return summary.skipped


# ---------------------------------------------------------------------------- statistics
def mean_ci(values: Any) -> tuple[int, float, float]:
    """(n, mean, 95 % CI half-width) of the finite values (Student t; aufx compare's rule)."""
    from aufx.stimuli.compare import mean_ci as _mean_ci

    n, mean, _, lo, hi = _mean_ci(np.asarray(values, dtype=np.float64))
    return n, mean, (hi - lo) / 2 if n > 1 else math.nan


def ci_above_zero(values: Any) -> bool:
    """Whether the 95 % CI (Student t) of the mean of ``values`` lies above 0."""
    _, mean, half = mean_ci(values)
    return math.isfinite(half) and mean - half > 0


def wilson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def _pm(mean: float, half: float, digits: int = 3) -> str:
    if not math.isfinite(mean):
        return "—"
    return f"{mean:.{digits}f}" + (f" ± {half:.{digits}f}" if math.isfinite(half) else "")


def _interval(value: float, lo: float, hi: float, digits: int = 3, unit: str = "") -> str:
    """``value`` with its 95 % interval ``[lo, hi]`` when that is known, else ``value`` alone."""
    if not math.isfinite(value):
        return "—"
    text = f"{value:.{digits}f}{unit}"
    return text + (f" [{lo:.{digits}f}, {hi:.{digits}f}]" if math.isfinite(lo) and math.isfinite(hi) else "")


# ---------------------------------------------------------------------------- throughput
def throughput(plan: Any, method_units: dict[str, dict], work_dir: Path, batch: int, repeats: int) -> dict[str, tuple[float, float, str]]:
    """Per method: (images/s wall, images per CPU-second, what was timed) at ``batch``, via the pipeline's edit code."""
    import torch

    from aufx.stimuli import work
    from aufx.stimuli.plan import LATENT_KINDS
    from baselines.benchmark import _time

    face_ids = [u["face_id"] for u in plan.faces]
    picks = [face_ids[i % len(face_ids)] for i in range(batch)]
    faces = [work.load_face(work_dir, f) for f in picks]
    images = torch.cat([work._load_png(work_dir / "images" / f"{f}.png") for f in picks])
    src = {"aus": faces[0]["aus"], "w": np.concatenate([f["w"] for f in faces]) if "w" in faces[0] else None}
    results = {}
    for name, method in method_units.items():
        au_edit = {"kind": "au", "aus": {SHEET_AU: 2.0}, "relative": True}
        edit = {"kind": "emotion", "emotion": SHEET_EMOTION, "intensity": 3.0} if method["kind"] == "stargan" else au_edit
        unit = {"method": method, "edit": edit, "context": plan.context, "study_seed": 0}
        if method["kind"] == "aufx":
            def fn(u=unit):
                return work._aufx_edit(u, src, None, {})
            what = f"{SHEET_AU} +2 from latents"
        else:
            def fn(u=unit):
                return work._baseline_edit(u, images, src, None)
            source = "latents" if method["kind"] in LATENT_KINDS else "images"
            what = f"emotion {SHEET_EMOTION} from images" if method["kind"] == "stargan" else f"{SHEET_AU} +2 from {source}"
        with torch.no_grad():
            wall, cpu = _time(fn, repeats)
        results[name] = (batch / wall, batch / cpu if cpu > 0 else math.nan, what)
    return results


# ---------------------------------------------------------------------------- image quality
def image_quality(rows: list[dict], plan: Any, work_dir: Path, analyzer: Any, size: int, n_boot: int = 100) -> Any:
    """FD of each (method, edit kind)'s outputs to the ideal outputs (renders of the sources' true
    identity with the edits' target AUs), and of the unedited sources to the same ideals; with
    ``n_boot`` > 0 also each FD on ``n_boot`` resamples of the source faces, the same resamples
    for every method of an edit kind (``fd_boot``; ``fd_lo`` / ``fd_hi``: the FD's basic bootstrap
    95 % interval, :func:`aufx.gan.quality.basic_bootstrap_interval`, which corrects the rise of an
    FD on a resample that repeats faces; clipped at 0)."""
    import pandas as pd
    import torch

    from aufx.edit.dataset import seed_latents
    from aufx.gan.quality import basic_bootstrap_interval, cluster_bootstrap_fd, feature_fd
    from aufx.metrics import high_frequency_ratio, noise_ratio, realism_features
    from aufx.stimuli import work
    from aufx.synthfacs import render
    from aufx.synthfacs.latent import true_scenes

    context = plan.context
    G = work.generator(context)
    seeds = {u["face_id"]: u["face"]["seed"] for u in plan.faces}
    scenes = true_scenes(work.loaded_generator(context).metadata,
                         seed_latents(G.z_dim, list(seeds.values())).numpy(), context["psi"])  # fmt: skip
    if scenes is None:
        return pd.DataFrame()
    identity = dict(zip(seeds, scenes.identity, strict=True))

    def features(images: list[torch.Tensor]) -> np.ndarray:
        return torch.cat([realism_features(analyzer, torch.cat(images[i : i + 64]))
                          for i in range(0, len(images), 64)]).double().numpy()  # fmt: skip

    frame = pd.DataFrame(rows)
    table = []
    for task, cell in frame.groupby("task"):
        first = cell.drop_duplicates(["source_id", "edit"])
        ideal_images = render(np.stack(first["ideal_aus"].to_list()), np.stack([identity[f] for f in first["source_id"]]),
                              size=size, with_parts=False).images  # fmt: skip
        ideal = features(list(ideal_images[:, None]))
        source_images = [work._load_png(work_dir / "images" / f"{f}.png") for f in first["source_id"]]
        sources = torch.cat(source_images)
        faces = first["source_id"].to_numpy()
        source_features = features(source_images)
        sets = {"unedited source": (source_features, faces)}
        rows_of_task = [{"method": "unedited source", "edits": task, "fd": feature_fd(source_features, ideal),
                         "hf": high_frequency_ratio(sources, ideal_images), "noise": 1.0, "n": len(first)}]  # fmt: skip
        position = {key: i for i, key in enumerate(zip(first["source_id"], first["edit"], strict=True))}
        for method, group in cell.groupby("method", sort=False):
            images = [work._load_png(work_dir / "images" / f"{s}.png") for s in group["stimulus_id"]]
            pair = [position[key] for key in zip(group["source_id"], group["edit"], strict=True)]
            sets[method] = (features(images), group["source_id"].to_numpy())
            rows_of_task.append({"method": method, "edits": task, "fd": feature_fd(sets[method][0], ideal),
                                 "hf": high_frequency_ratio(torch.cat(images), ideal_images),
                                 "noise": noise_ratio(torch.cat(images), sources[pair], ideal_images[pair]), "n": len(group)})  # fmt: skip
        if n_boot > 0:
            boot = cluster_bootstrap_fd(ideal, faces, sets, n_boot=n_boot)
            for row in rows_of_task:
                fds = boot[row["method"]]
                lo, hi = basic_bootstrap_interval(row["fd"], fds)
                row.update(fd_boot=fds, fd_lo=max(0.0, lo), fd_hi=max(0.0, hi))
        table += rows_of_task
    return pd.DataFrame(table)


# ---------------------------------------------------------------------------- contact sheet
def contact_sheet(spec: Any, plan: Any, rows: list[dict], work_dir: Path, path: Path, n_rows: int) -> Path:
    """Two blocks (AU12 edit, happy) of ``n_rows`` faces each, drawn by the stimuli contact-sheet code."""
    from dataclasses import replace

    from PIL import Image, ImageDraw

    from aufx.stimuli.assemble import write_contact_sheet

    blocks = []
    for task, label, caption in (("au", SHEET_AU, f"{SHEET_AU} +2"),
                                 ("emotion", SHEET_EMOTION, SHEET_EMOTION)):  # fmt: skip
        chosen = [r for r in rows if r["task"] == task and r["edit"] == label]
        items = list({r["item_id"]: {"item_id": r["item_id"], "source_id": r["source_id"], "target_id": ""}
                      for r in chosen}.values())[:n_rows]  # fmt: skip
        ids = {i["item_id"] for i in items}
        stimuli = [{"item_id": r["item_id"], "method": {"name": r["method"]}, "stimulus_id": r["stimulus_id"]}
                   for r in chosen if r["item_id"] in ids]  # fmt: skip
        sub = replace(plan, faces=[], stimuli=stimuli, items=items)
        sheet = write_contact_sheet(spec, sub, work_dir, show_target=False, name=f"sheet_{task}.png")
        blocks.append((caption, Image.open(sheet).convert("RGB")))
    width = max(b.width for _, b in blocks)
    height = sum(b.height + 14 for _, b in blocks)
    out = Image.new("RGB", (width, height), (255, 255, 255))
    draw, y = ImageDraw.Draw(out), 0
    for caption, block in blocks:
        draw.text((2, y + 1), caption, fill=(0, 0, 0))
        out.paste(block, (0, y + 14))
        y += block.height + 14
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return path


# ---------------------------------------------------------------------------- weights provenance
def weights_info(method: str) -> str:
    """Training steps etc. of a bundled baseline, from its checkpoint metadata (else its model card)."""
    from baselines.base import WEIGHTS_DIR
    from baselines.checkpoints import read_torch_file

    path = WEIGHTS_DIR / f"{method}.pt"
    if not path.is_file():
        return f"{method}: no bundled weights"
    meta = {}
    try:
        payload = read_torch_file(path)
        meta = dict(payload.get("metadata", {})) if isinstance(payload, dict) else {}
    except Exception:  # noqa: BLE001 - fall back to the model card
        meta = {}
    if "steps" not in meta:
        card = path.with_suffix(".md")
        match = re.search(r"steps:\s*(\d+)", card.read_text()) if card.is_file() else None
        return f"{method}: {match.group(1) if match else '?'} critic steps (model card)"
    minutes = meta.get("train_seconds", math.nan) / 60
    return (f"{method}: {meta['steps']} critic steps, {meta.get('images_seen', '?')} images, "
            f"{minutes:.0f} CPU-min on {meta.get('threads', '?')} thread(s), exported {str(meta.get('exported', '?'))[:16]}")  # fmt: skip


# ---------------------------------------------------------------------------- tables
def tables(rows: list[dict], classifier: dict[str, Any], methods: list[str]) -> dict[str, Any]:
    import pandas as pd

    frame = pd.DataFrame(rows)
    au_rows, emo_rows, metric_rows = [], [], []
    chance = 1.0 / len(_emotions())
    for method in methods:
        au = frame[(frame["method"] == method) & (frame["task"] == "au")] if len(frame) else frame
        if len(au):
            n, mean, half = mean_ci(au["raised_change"])
            share = float((au["raised_change"] > 0).mean())
            per_au = {code: float(g["raised_change"].mean()) for code, g in au.groupby("edit")}
            raised = sum(ci_above_zero(g["raised_change"]) for _, g in au.groupby("edit"))
            verdict = "yes" if ci_above_zero(au["raised_change"]) else ("mean > 0, CI includes 0" if mean > 0 else "no")
            au_rows.append({"method": method, "n": n, "mean_change": mean, "ci_half": half, "share_positive": share,
                            "requested": float(au["requested"].mean()), "right_direction": verdict,
                            "aus_raised": raised, "aus_edited": int(au["edit"].nunique()),
                            **{f"mean_{k}": v for k, v in per_au.items()}})  # fmt: skip
        emo = frame[(frame["method"] == method) & (frame["task"] == "emotion")] if len(frame) else frame
        if len(emo):
            correct = int((emo["predicted"] == emo["edit"]).sum())
            lo, hi = wilson(correct, len(emo))
            per_class = {e: float((g["predicted"] == e).mean()) for e, g in emo.groupby("edit")}
            verdict = "yes" if lo > chance else ("no" if correct / len(emo) <= chance else "above chance, CI includes chance")
            emo_rows.append({"method": method, "n": len(emo), "accuracy": correct / len(emo), "ci_low": lo, "ci_high": hi,
                             "chance": chance, "above_chance": verdict,
                             "predicted_neutral": float((emo["predicted"] == "neutral").mean()),
                             **{f"acc_{k}": v for k, v in per_class.items()}})  # fmt: skip
        for task in ("au", "emotion"):
            cell = frame[(frame["method"] == method) & (frame["task"] == task)] if len(frame) else frame
            if not len(cell):
                continue
            row = {"method": method, "edits": task, "n": len(cell)}
            for metric in METRICS:
                _, row[metric], row[f"{metric}_ci"] = mean_ci(cell[metric])
            metric_rows.append(row)
    return {"frame": frame, "au": pd.DataFrame(au_rows), "emotion": pd.DataFrame(emo_rows),
            "metrics": pd.DataFrame(metric_rows), "classifier": classifier, "methods": list(methods)}  # fmt: skip


#: Issue 17's goals for a trained baseline; the noise bound is our stand-in for "no visible
#: checkerboard or noise" (1 = the unedited sources; Gaussian noise of SD 0.01 reads 1.5).
GOAL_FD_FACTOR = 2.0  # FD within 2x the best method's; the other goals: baselines.validation


def goal_lines(result: dict[str, Any], methods: list[str]) -> list[str]:
    """Issue 17's goals, met or not, for the trained baselines among ``methods``."""
    quality, au, emotion = result.get("quality"), result["au"], result["emotion"]
    trained = [m for m in methods if m in TRAINED]
    if not trained or quality is None or not len(quality):
        return []
    methods_only = quality[quality["method"] != "unedited source"]
    best = methods_only.loc[methods_only.groupby("edits")["fd"].idxmin()].set_index("edits")
    lines = ["", "### Goals for the trained baselines (issue 17)", "",
             f"AUs raised: every AU it can target has its 95 % CI above 0; emotions recognised at ≥ "
             f"{GOAL_EMOTION_ACCURACY:g}; FD within {GOAL_FD_FACTOR:g}× the best method's (per edit kind; the point "
             "estimate decides, in brackets its basic bootstrap 95 % interval over resamples of the source faces); noise ratio ≤ "
             f"{GOAL_NOISE_RATIO:g} (no visible noise, checkerboard or seams; our bound: Gaussian noise of SD 0.01, "
             "2.5 grey levels, reads 1.5).", "",
             "| method | AUs raised | emotion accuracy | FD / best FD (AU, emotion) | noise ratio (AU, emotion) |",
             "|---|---|---|---|---|"]  # fmt: skip

    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    for method in trained:
        cells = []
        row = au[au["method"] == method] if len(au) else au
        if len(row):
            k, n = int(row["aus_raised"].iloc[0]), int(row["aus_edited"].iloc[0])
            cells.append(f"{k}/{n} {mark(k == n)}")
        else:
            cells.append("— (takes no AU targets)")
        row = emotion[emotion["method"] == method] if len(emotion) else emotion
        acc = float(row["accuracy"].iloc[0]) if len(row) else math.nan
        cells.append(f"{acc:.2f} {mark(acc >= GOAL_EMOTION_ACCURACY)}" if math.isfinite(acc) else "—")
        mine = quality[quality["method"] == method].set_index("edits")
        ratios = [fd_ratio(mine.loc[e], best.loc[e]) for e in mine.index]
        cells.append(", ".join(_interval(*r, digits=1, unit="×") for r in ratios)
                     + f" {mark(all(r[0] <= GOAL_FD_FACTOR for r in ratios))}")
        noise = [float(mine.loc[e, "noise"]) for e in mine.index]
        cells.append(", ".join(f"{v:.2f}" for v in noise) + f" {mark(all(v <= GOAL_NOISE_RATIO for v in noise))}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def fd_ratio(row: Any, best: Any) -> tuple[float, float, float]:
    """(FD / the best method's FD, and its basic bootstrap 95 % interval over the shared resamples
    (:func:`aufx.gan.quality.basic_bootstrap_interval`: a resample raises both FDs, which pulls their
    ratio toward 1, so the ratios' percentile range sat below the estimate), NaN without them)."""
    ratio = float(row["fd"] / best["fd"])
    boot, best_boot = row.get("fd_boot"), best.get("fd_boot")
    if not isinstance(boot, np.ndarray) or not isinstance(best_boot, np.ndarray):
        return ratio, math.nan, math.nan
    from aufx.gan.quality import basic_bootstrap_interval

    lo, hi = basic_bootstrap_interval(ratio, boot / best_boot)
    return ratio, max(0.0, lo), hi


def quality_lines(result: dict[str, Any]) -> list[str]:
    """The image-quality (FD to the ideal outputs) and Attribute Dependency table, in Markdown."""
    quality, frame = result.get("quality"), result["frame"]
    if quality is None or not len(quality):
        return ["", "(No image-quality table: the generator has no known scenes at this ψ.)"]
    fd = quality.pivot_table(index="method", columns="edits", values="fd", sort=False)
    bounds = quality.reindex(columns=["method", "edits", "fd_lo", "fd_hi"])
    fd_lo, fd_hi = (bounds.pivot_table(index="method", columns="edits", values=c, sort=False, dropna=False).reindex_like(fd)
                    for c in ("fd_lo", "fd_hi"))  # fmt: skip
    hf = quality.pivot_table(index="method", columns="edits", values="hf", sort=False)
    noise = quality.pivot_table(index="method", columns="edits", values="noise", sort=False)
    au = frame[frame["task"] == "au"].groupby("method", sort=False)[["mean_ad", "max_ad"]].mean()
    lines = ["", "### Image quality (FD to the ideal outputs, noise, high-frequency energy) and Attribute Dependency", "",
             "FD: Fréchet distance of the analyzer's pooled features between a method's outputs and the renders "
             "of each source's true identity with the edit's target AUs (lower is better; in brackets its basic bootstrap "
             "95 % interval over resamples of the source faces, `aufx.gan.quality.cluster_bootstrap_fd` and "
             "`basic_bootstrap_interval`: a resample repeats faces, which raises an FD, and the basic interval takes that "
             "rise for the estimate's own bias (an FD is biased upward at a finite sample), so it lies below the "
             "estimate); \"unedited source\" "
             "is what leaving the face alone scores. Noise: texture where the ideal render is flat, over the "
             "unedited sources' (`aufx.metrics.noise_ratio`: 95th percentile of 8×8 tiles of the high-pass RMS; "
             "1 = no noise, checkerboard or seams added; blur does not raise it). HF: the outputs' share of spectral energy above half the "
             "Nyquist frequency over the ideal renders' (`aufx.metrics.high_frequency_ratio`; 1 = as sharp as "
             "the renders, > 1 noise or checkerboard, < 1 blur; the two cancel). AD (AU edits): the other AUs' |change| in units "
             "of their spread over the sources, mean and max over them, averaged over edits (lower is better).", "",
             "| method | FD, AU edits | FD, emotion edits | noise, AU edits | noise, emotion edits | HF, AU edits | "
             "HF, emotion edits | mean-AD | max-AD |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    # the methods in the order the run was given them (the frame's and the pivot's orders are those
    # in which the records were read: StarGAN, with emotion rows only, came last after a partial redo)
    given = result.get("methods") or list(frame["method"].unique())
    order = [m for m in ["unedited source", *given] if m in fd.index]
    for method in order:
        r, h, v = fd.loc[method], hf.loc[method], noise.loc[method]
        lo, hi = fd_lo.loc[method], fd_hi.loc[method]
        ad = au.loc[method] if method in au.index else {"mean_ad": math.nan, "max_ad": math.nan}
        # a method without that edit kind (StarGAN: AU edits) gets a dash
        cells = [_interval(r.get(kind, math.nan), lo.get(kind, math.nan), hi.get(kind, math.nan), 4) for kind in ("au", "emotion")]
        values = [(v, "au", 2), (v, "emotion", 2), (h, "au", 2), (h, "emotion", 2)]
        cells += [_pm(row.get(kind, math.nan), math.nan, digits) for row, kind, digits in values]
        cells += [_pm(ad["mean_ad"], math.nan, 3), _pm(ad["max_ad"], math.nan, 3)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict[str, Any], args: argparse.Namespace, header: dict[str, Any]) -> str:
    emotions = _emotions()
    lines = [SECTION, "",
             f"`{header['command']}` — {header['date']}, {platform.machine()}, {os.cpu_count()} CPU cores, "
             f"torch {header['torch']}, {args.threads} thread(s)"
             + (f", edits in {args.workers} worker processes" if args.workers > 1 else "")
             + f"; machine load (1-min load average) "
             f"{header['load_start']:.1f} at the start and {header['load_end']:.1f} at the end. "
             f"Wall time of the run: {header['wall_min']:.1f} min"
             + (f"; {header['reused']} of {header['units']} units (faces and edits) reused from the work folder "
                "of an earlier run (identical method, weights, edit and model files)." if header.get("reused") else "."),
             "",
             f"**N = {args.n} faces** of the bundled generator `synthfacs128` (seeds 0–{args.n - 1}, ψ = 1: true AUs and identity known), the "
             "same faces for every method, run through the stimuli pipeline's code (`aufx.stimuli.work`: "
             "128-px PNG sources, each edit written as a PNG and measured by the engine's metrics with the "
             "bundled analyzer). Baseline weights (from the checkpoints' metadata):",
             ""]  # fmt: skip
    lines += [f"- {info}" for info in header["weights"]]
    lines += ["", "### AU edits: does the raised AU go up?", "",
              f"Each of {', '.join(args.aus)} raised by {args.change:+g} from the analyzer's estimate on the "
              "source face, clamped to 0–5 (an absolute target; the other AUs of the target vector are the "
              "source's estimates). Change = analyzer AU of the edit − of the source, for the raised AU. "
              "\"Right direction\": the 95 % CI (Student t) lies above 0.", "",
              "| method | edits | requested change | **mean change of the raised AU** (95 % CI) | share > 0 | right direction | "
              + " | ".join(args.aus) + " |",
              "|---|---:|---:|---:|---:|---|" + "---:|" * len(args.aus)]  # fmt: skip
    for _, r in result["au"].iterrows():
        per_au = " | ".join(f"{r.get(f'mean_{a}', math.nan):+.2f}" for a in args.aus)
        lines.append(f"| {r['method']} | {r['n']} | {r['requested']:+.2f} | **{_pm(r['mean_change'], r['ci_half'])}** | "
                     f"{r['share_positive']:.2f} | {r['right_direction']} | {per_au} |")  # fmt: skip
    clf = result["classifier"]
    lines += ["", "### Emotion edits: is the requested emotion recognised?", "",
              f"Every face edited to each of the {len(emotions)} expressive RaFD classes ({', '.join(emotions)}; "
              f"neutral is not an edit the pipeline offers). StarGAN is given the class; every other method "
              f"the EMFACS prototype AUs at intensity {args.intensity:g} on top of the source's estimated AUs. "
              "Classifier: logistic regression (standardised analyzer AU estimates → 8 classes, neutral included) "
              f"fitted on {clf['n_fit']} SynthFACS renders with known labels (EMFACS prototype and neutral faces of "
              f"`sample_mixture_params(seed={args.classifier_seed})`), never on edits; its accuracy on {clf['n_heldout']} held-out "
              f"renders is **{clf['heldout_accuracy']:.3f}** (chance {clf['chance']:.3f}). Chance for the edits = "
              f"1/{len(emotions)} = {1 / len(emotions):.3f}; \"above chance\": the Wilson 95 % CI lies above it.", "",
              "| method | edits | **accuracy** (95 % CI) | chance | above chance | classified neutral | "
              + " | ".join(emotions) + " |",
              "|---|---:|---:|---:|---|---:|" + "---:|" * len(emotions)]  # fmt: skip
    for _, r in result["emotion"].iterrows():
        per = " | ".join(f"{r.get(f'acc_{e}', math.nan):.2f}" for e in emotions)
        lines.append(f"| {r['method']} | {r['n']} | **{r['accuracy']:.3f}** ({r['ci_low']:.3f}–{r['ci_high']:.3f}) | "
                     f"{r['chance']:.3f} | {r['above_chance']} | {r['predicted_neutral']:.2f} | {per} |")  # fmt: skip
    lines += ["", "### Engine metrics (`aufx.metrics`), mean ± 95 % CI half-width", "",
              "Targets of an AU edit: the raised AU; of an emotion edit: the class's EMFACS prototype AUs. "
              "Target change: analyzer change of the target AUs (higher is better); leakage: mean |change| of the "
              "other AUs (lower); out-of-region change: share of the pixel change outside the target AUs' region "
              "(lower); identity drift: 1 − cosine similarity of the analyzer's identity embeddings (lower).", "",
              "| method | edits | n | target change | leakage | out-of-region change | identity drift |",
              "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for _, r in result["metrics"].iterrows():
        cells = " | ".join(_pm(r[m], r[f"{m}_ci"]) for m in METRICS)
        lines.append(f"| {r['method']} | {r['edits']} | {r['n']} | {cells} |")
    lines += quality_lines(result)
    lines += goal_lines(result, args.methods)
    lines += ["", f"### Throughput (batch {args.batch}, {args.threads} thread(s), {args.repeats} timed calls after one warm-up)", "",
              "Images per wall second are deflated when other jobs share the machine; images per CPU-second "
              "(process CPU time) measure the code. aufx, InterFaceGAN, StyleSpace and GAN Local Editing edit "
              "the faces' stored latents (no inversion); StarGAN, GANimation and Cascade EF-GAN edit images.", "",
              "| method | edit timed | images/s (wall) | images per CPU-second |", "|---|---|---:|---:|"]  # fmt: skip
    for name, (wall, cpu, what) in result["throughput"].items():
        lines.append(f"| {name} | {what} | {wall:.1f} | {cpu:.1f} |")
    lines += ["", f"Contact sheet (`{header['sheet']}`): rows = faces, columns = source, then the methods; top block "
              f"{SHEET_AU} +2, bottom block {SHEET_EMOTION} (blank where a method does not take that target).", ""]  # fmt: skip
    return "\n".join(lines)


def update_results_md(section: str, path: Path) -> None:
    """Replace ``SECTION`` (or ``OLD_SECTION``) in ``path``, or insert it after the ``## Baselines`` section (else at the end)."""
    text = path.read_text() if path.exists() else ""
    heading = OLD_SECTION if f"\n{OLD_SECTION}\n" in text and f"\n{SECTION}\n" not in text else SECTION
    replace_section(path, heading, section, after=AFTER_SECTION)


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="faces (generator seeds 0..n-1)")
    parser.add_argument("--batch", type=int, default=8, help="batch size of the throughput measurement")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per method (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="comma-separated: stargan, ganimation, cascade-efgan, aufx-<mode> (global-linear, "
                             "global-opt, local-mux, local-opt)")  # fmt: skip
    parser.add_argument("--aus", default=",".join(DEFAULT_AUS), help="AUs raised one at a time")
    parser.add_argument("--change", type=float, default=2.0, help="how much the AUs are raised")
    parser.add_argument("--intensity", type=float, default=3.0, help="EMFACS prototype intensity of emotion edits")
    parser.add_argument("--classifier-renders", type=int, default=6000,
                        help="SynthFACS faces drawn for the emotion classifier (about half are prototype/neutral faces)")
    parser.add_argument("--classifier-seed", type=int, default=1000)
    parser.add_argument("--sheet-rows", type=int, default=8, help="faces per block of the contact sheet")
    parser.add_argument("--fd-bootstrap", type=int, default=100,
                        help="resamples of the source faces for the FDs' and the FD ratios' basic bootstrap 95 %% intervals (0: none)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="contact sheet and per-edit CSV (without --write-docs)")
    parser.add_argument("--write-results", action="store_true", help="replace the section in --results")
    parser.add_argument("--write-docs", action="store_true", help="write the contact sheet to --docs-image")
    parser.add_argument("--results", type=Path, default=RESULTS_MD, help=argparse.SUPPRESS)
    parser.add_argument("--docs-image", type=Path, default=DOCS_IMAGE, help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep the faces and edits here and reuse those of identical units (same method, "
                             "weights, edit and model files) on a rerun; delete it after changing a method's code. "
                             "Default: a temporary folder")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1,
                        help="edit in this many worker processes (Dask, one thread each) before measuring; "
                             "1: one after another in this process")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from aufx.aus import normalize_au

    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.aus = [normalize_au(a) for a in args.aus.split(",") if a.strip()]
    if args.n < 1 or args.batch < 1 or args.threads < 1 or args.workers < 1 or not args.methods or not args.aus:
        parser.error("--n, --batch, --threads and --workers must be >= 1; --methods and --aus must not be empty")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the tables (DataFrames), the classifier and the Markdown section."""
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    from tqdm import tqdm

    from aufx.edit.analyzer import analyze
    from aufx.metrics import attribute_dependency
    from aufx.stimuli import work

    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    t_start, load_start = time.perf_counter(), os.getloadavg()[0]
    command = "python benchmarks/bench_baselines_quality.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    spec, plan = build(args)
    context = plan.context
    progress = not args.no_progress
    try:
        with (contextlib.nullcontext(str(args.work_dir)) if args.work_dir
              else tempfile.TemporaryDirectory(prefix="aufx-bench-baselines-")) as tmp:  # fmt: skip
            work_dir = Path(tmp).expanduser()
            reused = 0
            for unit in tqdm(plan.faces, desc="faces", disable=not progress):
                reused += work.run_unit(unit, str(work_dir))["skipped"]
            faces = {u["face_id"]: work.load_face(work_dir, u["face_id"]) for u in plan.faces}
            model = work.analyzer(context)
            face_ids = list(faces)
            sources = torch.cat([work._load_png(work_dir / "images" / f"{f}.png") for f in face_ids])
            source_aus = dict(zip(face_ids, analyze(model, sources).aus.double().numpy(), strict=True))
            au_spread = np.stack(list(source_aus.values())).std(axis=0, ddof=1)
            classifier = fit_emotion_classifier(model, args.classifier_renders, args.classifier_seed, spec.image_size)
            rows = []
            from aufx.aus import AU_CODES, AU_INDEX

            units = [absolute_au_edit(u, faces[u["source_id"]]["aus"]) if u["task"] == "au" else u for u in plan.stimuli]
            if args.workers > 1:  # the edits in parallel first; the loop below then reads their records
                reused += run_in_parallel(plan, units, work_dir, args.workers, progress)
            for unit in tqdm(units, desc="edits" if args.workers == 1 else "measures", disable=not progress):
                row = {"method": unit["method"]["name"], "task": unit["task"], "item_id": unit["item_id"],
                       "source_id": unit["source_id"], "stimulus_id": unit["stimulus_id"]}  # fmt: skip
                if unit["task"] == "au":
                    row.update(edit=unit["raised"], requested=unit["requested"])
                else:
                    row["edit"] = unit["edit"]["emotion"]
                record = work.run_unit(unit, str(work_dir))
                reused += record["skipped"] if args.workers == 1 else 0
                row["ideal_aus"] = work.target_vector(unit["edit"], faces[unit["source_id"]]["aus"], None)
                metrics = record["metrics"]
                row.update({m: metrics.get(m, math.nan) for m in METRICS})
                change = np.array([metrics.get(f"change_{c}", math.nan) for c in AU_CODES])
                if unit["task"] == "au":
                    row["raised_change"] = float(change[AU_INDEX[row["edit"]]])
                    before = source_aus[unit["source_id"]][None]
                    ad = attribute_dependency(before, before + change[None], [row["edit"]], au_spread)
                    row.update(mean_ad=float(ad["mean_ad"].iloc[0]), max_ad=float(ad["max_ad"].iloc[0]))
                else:
                    edited_aus = source_aus[unit["source_id"]] + change
                    row["predicted"] = str(classifier["model"].predict(edited_aus[None])[0])
                rows.append(row)
            quality = image_quality(rows, plan, work_dir, model, spec.image_size, args.fd_bootstrap)
            found = {unit["method"]["name"]: unit["method"] for unit in plan.stimuli}
            method_units = {name: found[name] for name in args.methods if name in found}
            print(f"timing throughput at batch {args.batch} ...", file=sys.stderr, flush=True)
            speed = throughput(plan, method_units, work_dir, args.batch, args.repeats)
            sheet_path = args.docs_image if args.write_docs else args.out / "baselines_comparison.png"
            contact_sheet(spec, plan, rows, work_dir, sheet_path, args.sheet_rows)
    finally:
        torch.set_num_threads(threads_before)
    result = tables(rows, classifier, args.methods)
    result["throughput"], result["quality"] = speed, quality
    args.out.mkdir(parents=True, exist_ok=True)
    result["frame"].to_csv(args.out / "edits.csv", index=False, float_format="%.6g")
    import torch as _torch

    header = {
        "command": command.strip(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_start": load_start, "load_end": os.getloadavg()[0], "torch": _torch.__version__.split("+")[0],
        "wall_min": (time.perf_counter() - t_start) / 60, "reused": reused, "units": len(plan.faces) + len(plan.stimuli),
        "weights": [weights_info(m) for m in args.methods if m in TRAINED],
        "sheet": str(sheet_path.relative_to(ROOT)) if sheet_path.is_relative_to(ROOT) else str(sheet_path),
    }  # fmt: skip
    section = markdown(result, args, header)
    print(section)
    if args.write_results:
        update_results_md(section, args.results)
    result.update(markdown=section, sheet=sheet_path, header=header)
    return result


if __name__ == "__main__":
    main()
