"""What one unit of work does, on whichever process runs it (the driver or a Dask worker).

:func:`run_unit` takes a unit from :mod:`aufx.stimuli.plan` and the output folder, writes the
unit's files atomically (temporary name + ``os.replace``), and last of all its record
``.aufx-stimuli/records/<unit_key>.json`` — so a unit whose record exists is complete.

- face unit: the reference image ``images/<face_id>.png`` and ``.aufx-stimuli/faces/<face_id>.npz``
  (``w`` [1, w_dim] or [1, num_ws, w_dim] when a method needs latents; ``aus`` [16], the face's AU
  intensities: SynthFACS ground truth — a render's parameters, or the true scene of a seed's z
  for a generator distilled from SynthFACS at ψ 1 — else the analyzer's, else the editor's, else NaN).
- stimulus unit: ``images/<stimulus_id>.png`` (no metadata) and its objective metrics.

Loaded models are kept per process (:data:`_CACHE`, keyed by the sha256 of their files), so a
worker loads each model once; :func:`run_units` runs a batch of units in one task (the driver
batches them by method, so a worker reuses the adapter it has loaded) and :func:`warm_up` imports
what units need ahead of the first one (a Dask worker calls it at start-up, see
:mod:`aufx.stimuli.preload`). Every unit runs with one torch thread: results do not depend on the
number of workers or on how units are batched.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from aufx.files import atomic_write
from aufx.stimuli.plan import LATENT_PEER_KINDS, canonical, unit_key

STATE_DIR = ".aufx-stimuli"
#: Keys a unit returns to the driver but does not write to its record (reported once per run):
#: ``linear_capped``, the AUs of a ``global-linear`` edit whose W step was shortened to the cap;
#: ``warnings``, the [category name, message] pairs the unit warned (not printed by the worker).
NOTES = ("linear_capped", "warnings")
_CACHE: dict[str, Any] = {}


# ---------------------------------------------------------------------------- files
def png_bytes(image: Any) -> bytes:
    """[3, H, W] in [-1, 1] -> PNG bytes (aufx's uint8 rule; no text chunks, no metadata)."""
    from PIL import Image

    from aufx.imageio import to_uint8

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def record_path(out: Path, unit: dict[str, Any]) -> Path:
    return out / STATE_DIR / "records" / f"{unit_key(unit)}.json"


def read_record(out: Path, unit: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a completed unit, or ``None`` (missing, unreadable, or its image changed)."""
    path = record_path(out, unit)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for rel, digest in record.get("files", {}).items():
        file = out / rel
        if not file.is_file() or (digest and _sha256(file) != digest):
            return None
    return record


def _sha256(path: Path) -> str:
    from aufx.stimuli.plan import file_digest

    return file_digest(path)


def _resize(images: Any, size: int) -> Any:
    import torch.nn.functional as F

    if images.shape[-1] == size:
        return images
    return F.interpolate(
        images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    ).clamp(-1, 1)


def _load_png(path: Path, size: int | None = None) -> Any:
    from aufx.imageio import load_image

    return load_image(path, size)[None]


# ---------------------------------------------------------------------------- models (cached per process)
def _cached(key: str, build: Any) -> Any:
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def loaded_generator(context: dict[str, Any]) -> Any:
    """The generator file (:class:`aufx.gan.loaders.LoadedModel`: network and metadata)."""
    from aufx.gan.loaders import load_generator

    return _cached(f"G:{context['sha256']['generator']}", lambda: load_generator(context["generator"]))


def generator(context: dict[str, Any]) -> Any:
    return loaded_generator(context).generator


def editing_model(context: dict[str, Any]) -> Any:
    """The engine (:class:`aufx.edit.engine.EditingModel`) with editor and, when given, catalog."""

    def build() -> Any:
        from aufx.edit.catalog import RegionCatalog
        from aufx.edit.directions import AUDirections
        from aufx.edit.engine import EditingModel
        from aufx.edit.global_editor import load_editor

        loaded = load_editor(context["editor"])
        catalog = RegionCatalog.load(context["regions"])[0] if "regions" in context else None
        directions = AUDirections.from_editor(loaded.editor, loaded.calibration)
        return EditingModel(
            generator(context), loaded.editor, directions, catalog, analyzer(context)
        )

    return _cached(f"E:{canonical(context['sha256'])}", build)


def analyzer(context: dict[str, Any]) -> Any:
    if "analyzer" not in context:
        return None
    from aufx.edit.analyzer import load_analyzer

    return _cached(f"A:{context['sha256']['analyzer']}", lambda: load_analyzer(context["analyzer"]))


def realism_scorer(context: dict[str, Any]) -> Any:
    """A :class:`aufx.metrics.RealismScorer` fitted on 512 SynthFACS renders (seed 0); ``None``
    for the landmark analyzer (it reads no AUs, and SynthFACS renders are no reference for photographs)."""
    if context.get("analyzer") == "landmarks":
        return None

    def build() -> Any:
        from aufx.metrics import RealismScorer, realism_features
        from aufx.synthfacs import render, sample_params

        params = sample_params(512, seed=0)
        images = render(
            params.aus, params.identity, size=context["image_size"], with_parts=False
        ).images
        return RealismScorer().fit(realism_features(analyzer(context), images))

    return _cached(f"R:{context['sha256']['analyzer']}:{context['image_size']}", build)


def baseline(method: dict[str, Any], context: dict[str, Any], seed: int) -> Any:
    """The adapter of a method unit, with its weights (bundled / a path / fitted / seeded random init)."""

    def build() -> Any:
        import torch

        from baselines import registry

        kind, params = method["kind"], method["params"]
        weights = params["weights"]
        torch.manual_seed(seed)  # random init (weights = "random") is then reproducible
        if kind == "gan-local-editing":
            from baselines.gan_local_editing import GanLocalEditing, GLEConfig

            config = GLEConfig(n_images=params["n_images"], n_clusters=params["n_clusters"], seed=seed,
                               truncation_psi=context["psi"])  # fmt: skip
            adapter = GanLocalEditing(generator=generator(context), config=config)
            if weights == "fit":
                return adapter.train()
            return adapter.load(None if weights == "bundled" else weights)
        # the latent-space peers edit the spec's generator, not the bundled one
        latent_peer = {"generator": generator(context)} if kind in LATENT_PEER_KINDS else {}
        adapter = registry.get(kind, **latent_peer)
        if weights == "random":
            return adapter
        try:
            return adapter.load(None if weights == "bundled" else weights)
        except ValueError as error:
            raise ValueError(
                f"method {method['name']!r} ({kind}) is unavailable: {error}"
            ) from None

    return _cached(f"B:{canonical(method)}:{seed}:{context['sha256']['generator']}", build)


# ---------------------------------------------------------------------------- face units
def _face_image_and_latent(unit: dict[str, Any]) -> tuple[Any, Any, Any, str]:
    """(image [1, 3, R, R] at the generator's resolution, w or None, ground-truth aus or None, aus source)."""
    import torch

    context, face = unit["context"], unit["face"]
    G = generator(context)
    res = G.img_resolution
    if face["kind"] == "seeds":
        from aufx.edit.dataset import seed_latents
        from aufx.synthfacs.latent import true_scenes

        z = seed_latents(G.z_dim, [face["seed"]])
        with torch.no_grad():
            w = G.mapping(z, truncation_psi=context["psi"])[:, 0]
        scene = true_scenes(loaded_generator(context).metadata, z.numpy(), context["psi"])
        if scene is None:
            return G.synthesis(w), w, None, ""
        return G.synthesis(w), w, torch.from_numpy(scene.aus), "true scene of z (distilled generator)"
    truth = None
    if face["kind"] == "synthfacs":
        from aufx.synthfacs import render, sample_params

        params = sample_params(face["n"], seed=face["seed"])
        i = face["index"]
        image = render(
            params.aus[i : i + 1], params.identity[i : i + 1], size=res, with_parts=False
        ).images
        truth = torch.as_tensor(params.aus[i : i + 1]).float()
        w = None
    else:
        image = _load_png(Path(face["file"]), res)
        w = None
        if face["row"] >= 0:
            with np.load(face["latents"], allow_pickle=False) as data:
                w = torch.from_numpy(np.asarray(data["w"][face["row"]], dtype=np.float32))[None]
            if w.shape[-1] != G.w_dim:
                raise ValueError(
                    f"{face['latents']}: latents have {w.shape[-1]} dims but the generator's W has {G.w_dim}"
                )
    if w is None and unit["need_latent"]:
        from aufx.gan.projector import ProjectorConfig, project

        w = project(
            G, image, ProjectorConfig(steps=unit["invert_steps"], seed=0), progress=False
        ).ws
    return image, w, truth, "synthfacs ground truth" if truth is not None else ""


def run_face(unit: dict[str, Any], out: Path) -> dict[str, Any]:
    import torch

    context = unit["context"]
    image, w, aus, source = _face_image_and_latent(unit)
    png = png_bytes(_resize(image, context["image_size"])[0])
    if aus is None and analyzer(context) is not None:
        from aufx.edit.analyzer import analyze

        aus, source = (
            analyze(analyzer(context), _resize(image, context["image_size"])).aus,
            "analyzer",
        )
    if aus is None and w is not None and "editor" in context:
        aus, source = editing_model(context).predict(w), "editor"
    if aus is None:
        aus, source = torch.full((1, 16), float("nan")), "unknown"
    arrays = {"aus": aus[0].float().numpy()}
    if w is not None:
        arrays["w"] = w.float().numpy()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    rel_png, rel_npz = f"images/{unit['face_id']}.png", f"{STATE_DIR}/faces/{unit['face_id']}.npz"
    atomic_write(out / rel_npz, buffer.getvalue())
    atomic_write(out / rel_png, png)
    from hashlib import sha256

    return {
        "face_id": unit["face_id"],
        "aus_from": source,
        "files": {rel_png: sha256(png).hexdigest(), rel_npz: ""},
    }


def load_face(out: Path, face_id: str) -> dict[str, Any]:
    with np.load(out / STATE_DIR / "faces" / f"{face_id}.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


# ---------------------------------------------------------------------------- stimulus units
def nearest_emotion(aus: np.ndarray) -> str:
    """The RaFD class whose EMFACS prototype best matches AU intensities [16] (cosine; neutral when all < 0.5)."""
    from aufx.aus import AU_INDEX, EMOTION_PROTOTYPES, RAFD_TO_PROTOTYPE

    a = np.nan_to_num(np.asarray(aus, dtype=np.float64))
    if a.max(initial=0.0) < 0.5:
        return "neutral"
    best, best_score = "neutral", -1.0
    for rafd, proto in RAFD_TO_PROTOTYPE.items():
        if proto is None:
            continue
        v = np.zeros(16)
        v[[AU_INDEX[c] for c in EMOTION_PROTOTYPES[proto]]] = 1.0
        score = float(a @ v / (np.linalg.norm(a) * np.linalg.norm(v)))
        if score > best_score:
            best, best_score = rafd, score
    return best


def target_vector(
    edit: dict[str, Any], source_aus: np.ndarray, target_aus: np.ndarray | None
) -> np.ndarray:
    """Absolute AU intensities [16] the edit asks for (unknown source AUs count as 0)."""
    from aufx.aus import AU_INDEX, emotion_targets

    base = np.nan_to_num(np.asarray(source_aus, dtype=np.float64)).clip(0, 5)
    if edit["kind"] == "transfer":
        return np.nan_to_num(np.asarray(target_aus, dtype=np.float64)).clip(0, 5)
    result = base.copy()
    changes = (
        edit["aus"] if edit["kind"] == "au" else emotion_targets(edit["emotion"], edit["intensity"])
    )
    relative = edit["kind"] == "au" and edit["relative"]
    for code, value in changes.items():
        result[AU_INDEX[code]] = base[AU_INDEX[code]] + value if relative else value
    return result.clip(0, 5)


def target_aus_of(
    edit: dict[str, Any], source_aus: np.ndarray, target_aus: np.ndarray | None
) -> list[str]:
    """The AUs an edit is meant to change (the metrics' targets)."""
    from aufx.aus import AU_CODES, EMOTION_PROTOTYPES, RAFD_TO_PROTOTYPE

    if edit["kind"] == "au":
        return sorted(edit["aus"])
    if edit["kind"] == "emotion":
        key = RAFD_TO_PROTOTYPE.get(edit["emotion"], edit["emotion"])
        return list(EMOTION_PROTOTYPES[key])
    diff = np.abs(np.nan_to_num(target_aus) - np.nan_to_num(source_aus))
    codes = [c for c, d in zip(AU_CODES, diff, strict=True) if d >= edit["min_change"]]
    return codes or [AU_CODES[int(diff.argmax())]]


def _aufx_edit(
    unit: dict[str, Any], src: dict[str, Any], tgt: dict[str, Any] | None, notes: dict[str, Any]
) -> Any:
    """The edited image; a ``global-linear`` step shortened to the cap is noted in ``notes`` as
    ``linear_capped`` (its AUs) instead of warning per face: the driver reports one line per run."""
    model = editing_model(unit["context"])

    def capped(aus: tuple[str, ...], faces: int, cap: float) -> None:
        notes["linear_capped"] = sorted({*notes.get("linear_capped", []), *aus})

    model.on_linear_cap = capped
    try:
        return _aufx_edit_image(model, unit, src, tgt)
    finally:
        model.on_linear_cap = None


def _aufx_edit_image(model: Any, unit: dict[str, Any], src: dict[str, Any], tgt: dict[str, Any] | None) -> Any:
    import torch

    from aufx.edit.transfer import edit_emotion, transfer_expression

    params, edit = unit["method"]["params"], unit["edit"]
    model.opt_steps, model.opt_lr, model.local_steps, model.sigma = (
        params["steps"],
        params["lr"],
        params["local_steps"],
        params["sigma"],
    )
    mode = params["mode"]
    w = torch.from_numpy(src["w"])
    if edit["kind"] == "au":
        return model.edit(
            w, edit["aus"], mode=mode, relative=edit["relative"], orthogonal=params["orthogonal"]
        ).image
    if edit["kind"] == "emotion":
        return edit_emotion(model, w, edit["emotion"], edit["intensity"], mode).image
    return transfer_expression(
        model, w, w_target=torch.from_numpy(tgt["w"]), mode=mode, min_change=edit["min_change"]
    ).image


def _baseline_edit(
    unit: dict[str, Any], source_png: Any, src: dict[str, Any], tgt: dict[str, Any] | None
) -> tuple[Any, str]:
    """(edited [1, 3, S, S], the condition given to the method as text)."""
    import torch

    method, edit, context = unit["method"], unit["edit"], unit["context"]
    adapter = baseline(method, context, unit["study_seed"])
    kind = method["kind"]
    if kind == "gan-local-editing" and edit["kind"] == "transfer":
        region = method["params"]["region"]
        images = adapter.transfer(torch.from_numpy(src["w"]), torch.from_numpy(tgt["w"]), region)
        return images, f"region={region}"
    if kind == "stargan":
        emotion = edit["emotion"] if edit["kind"] == "emotion" else nearest_emotion(tgt["aus"])
        return adapter.edit(source_png, emotion), f"emotion={emotion}"
    vector = target_vector(edit, src["aus"], tgt["aus"] if tgt else None)
    target = torch.from_numpy(vector).float()[None]
    if kind in (*LATENT_PEER_KINDS, "gan-local-editing"):  # from the stored latent and the face's known AUs
        from baselines.latent_edit import AUEdit

        source_aus = torch.from_numpy(np.nan_to_num(src["aus"]).clip(0, 5)).float()[None]
        target = AUEdit(target, relative=False, source_ws=torch.from_numpy(src["w"]), source_aus=source_aus)
    if kind == "cascade-efgan":
        from baselines.cascade_efgan import CascadeTarget

        source_aus = np.nan_to_num(src["aus"]).clip(0, 5)
        target = CascadeTarget(target, torch.from_numpy(source_aus).float()[None])
    text = ",".join(f"{v:.3f}" for v in vector)
    return adapter.edit(source_png, target), f"aus=[{text}]"


def stimulus_metrics(
    unit: dict[str, Any],
    original: Any,
    edited: Any,
    src: dict[str, Any],
    tgt: dict[str, Any] | None,
) -> dict[str, float]:
    """Objective metrics of one (source, stimulus) pair; analyzer measures when an analyzer is set."""
    from aufx.metrics import high_frequency_ratio, pixel_change

    metrics = {
        "pixel_change": float(pixel_change(original, edited).mean()) / 2.0,  # in [0, 1] of the range
        # > 1: the edit added noise or a checkerboard; < 1: it blurred the face
        "high_freq_ratio": high_frequency_ratio(edited, original),
    }
    model = analyzer(unit["context"])
    if model is None:
        return metrics
    from aufx.edit.analyzer import analyze
    from aufx.metrics import measure_edits

    targets = target_aus_of(unit["edit"], src["aus"], tgt["aus"] if tgt else None)
    frame = measure_edits(model, original, edited, targets, realism=realism_scorer(unit["context"]))
    row = frame.iloc[0]
    metrics.update({k: float(row[k]) for k in frame.columns if k not in ("pair", "targets")})
    if tgt is not None:
        edited_aus = analyze(model, edited).aus[0].double().numpy()
        metrics["transfer_error"] = float(np.abs(edited_aus - np.nan_to_num(tgt["aus"])).mean())
    return metrics


def run_stimulus(unit: dict[str, Any], out: Path) -> dict[str, Any]:
    from hashlib import sha256

    from aufx.imageio import from_uint8

    size = unit["context"]["image_size"]
    src = load_face(out, unit["source_id"])
    tgt = load_face(out, unit["target_id"]) if unit["target_id"] else None
    source_png = _load_png(out / "images" / f"{unit['source_id']}.png")
    notes: dict[str, Any] = {}
    if unit["method"]["kind"] == "aufx":
        image, condition = _aufx_edit(unit, src, tgt, notes), ""
    else:
        image, condition = _baseline_edit(unit, source_png, src, tgt)
    png = png_bytes(_resize(image.detach().float(), size)[0])
    from PIL import Image

    edited = from_uint8(np.array(Image.open(io.BytesIO(png)).convert("RGB")))[None]
    metrics = stimulus_metrics(unit, source_png, edited, src, tgt)
    rel = f"images/{unit['stimulus_id']}.png"
    atomic_write(out / rel, png)
    return {"stimulus_id": unit["stimulus_id"], "condition": condition, "metrics": metrics,
            "sha256": sha256(png).hexdigest(), "files": {rel: sha256(png).hexdigest()}, **notes}  # fmt: skip


# ---------------------------------------------------------------------------- entry point
def run_unit(unit: dict[str, Any], out: str) -> dict[str, Any]:
    """Run one unit (unless its record exists) and write its record; returns the record, with
    the unit's :data:`NOTES` for the driver, which reports each warning once per run."""
    import torch

    root = Path(out)
    done = read_record(root, unit)
    if done is not None:
        return {**done, "skipped": True}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with warnings.catch_warnings(record=True) as caught:  # the caller's filters still apply
        try:
            record = run_face(unit, root) if unit["stage"] == "face" else run_stimulus(unit, root)
        finally:
            torch.set_num_threads(threads)
    notes = {k: record.pop(k) for k in NOTES if k in record}  # for this run's summary, not the record
    said = list(dict.fromkeys((c.category.__name__, str(c.message)) for c in caught))
    if said:
        notes["warnings"] = said
    record = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
    atomic_write(
        record_path(root, unit), (json.dumps(record, sort_keys=True, indent=1) + "\n").encode()
    )
    return {**record, **notes, "skipped": False}


def run_units(units: list[dict[str, Any]], out: str) -> list[dict[str, Any] | Exception]:
    """Run a batch of units one after another (one Dask task); returns one record or exception per unit.

    A failing unit does not stop the batch: its exception takes its place in the list. Each unit
    writes its own record as it finishes, so a batch killed mid-way loses only the unit in flight.
    """
    results: list[dict[str, Any] | Exception] = []
    for unit in units:
        try:
            results.append(run_unit(unit, out))
        except Exception as error:  # reported per unit by the driver; the others still run
            results.append(error)
    return results


def warm_up() -> None:
    """Import the modules units use (torch, the engine, metrics, baselines) so the first unit does not pay for them."""
    import importlib

    import torch  # noqa: F401

    for name in ("aufx.gan.loaders", "aufx.gan.projector", "aufx.edit.engine", "aufx.edit.transfer",
                 "aufx.edit.analyzer", "aufx.edit.global_editor", "aufx.edit.catalog", "aufx.metrics",
                 "aufx.synthfacs", "aufx.imageio", "baselines.registry", "PIL.Image"):  # fmt: skip
        importlib.import_module(name)
