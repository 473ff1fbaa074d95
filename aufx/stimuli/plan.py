"""From a validated spec to units of work: one per face (reference image + latent) and one per
stimulus (item x method). Every unit is a plain JSON-able dict, so it can travel to a Dask
worker, and its content hash (:func:`unit_key`) names its record: a rerun skips units whose
record is there.

Ids are opaque: faces ``f<12 hex>``, items ``i<12 hex>``, stimuli ``s<16 hex>`` — HMAC-SHA256
digests keyed by the spec's name and seed over a description of the face / item / (item,
method). They reveal nothing about the method, and the same spec + seed gives the same ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aufx.stimuli.spec import Faces, Spec

#: Bumped when the meaning of a unit changes (old records are then not reused).
PLAN_VERSION = 1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): the text every hash is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def unit_key(unit: dict[str, Any]) -> str:
    """Content hash (sha256 hex) of a unit's description: the name of its record file."""
    return hashlib.sha256(canonical({"v": PLAN_VERSION, **unit}).encode()).hexdigest()


def opaque_id(spec: Spec, prefix: str, description: Any, length: int) -> str:
    key = f"aufx-stimuli\x00{spec.name}\x00{spec.seed}".encode()
    return (
        prefix + hmac.new(key, canonical(description).encode(), hashlib.sha256).hexdigest()[:length]
    )


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Plan:
    """What a run does: face units, stimulus units (in manifest order) and the model context."""

    faces: list[dict[str, Any]]
    stimuli: list[dict[str, Any]]
    context: dict[str, Any]
    items: list[dict[str, Any]]  # item_id, task, source_id, target_id, description (manifest order)


def folder_faces(faces: Faces) -> list[dict[str, Any]]:
    """Images of a folder source (sorted by name) with the row of their latent in ``latents``."""
    files = sorted(
        p for p in Path(faces.path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not files:
        raise ValueError(
            f"{faces.path}: no images ({', '.join(IMAGE_SUFFIXES)}) in the sources/targets folder"
        )
    rows: dict[str, int] = {}
    if faces.latents:
        import numpy as np

        with np.load(faces.latents, allow_pickle=False) as data:
            if "w" not in data.files:
                raise ValueError(f"{faces.latents}: no array 'w' (write it with `aufx invert`)")
            names = [Path(str(n)).stem for n in data["names"]] if "names" in data.files else []
        rows = {name: i for i, name in enumerate(names)}
        missing = [p.name for p in files if p.stem not in rows]
        if missing:
            raise ValueError(
                f"{faces.latents}: no latent for image {missing[0]!r} (names in the file: {', '.join(names[:5])}...)"
            )
    return [{"kind": "folder", "file": str(p), "sha256": file_digest(p), "latents": faces.latents,
             "row": rows.get(p.stem, -1)} for p in files]  # fmt: skip


def expand_faces(faces: Faces) -> list[dict[str, Any]]:
    """Descriptions of the faces of a ``[sources]`` / ``[targets]`` table, in order."""
    if faces.kind == "seeds":
        return [{"kind": "seeds", "seed": s} for s in faces.seeds]
    if faces.kind == "synthfacs":
        return [
            {"kind": "synthfacs", "n": faces.n, "seed": faces.seed, "index": i}
            for i in range(faces.n)
        ]
    return folder_faces(faces)


def model_context(spec: Spec, need_editor: bool, need_regions: bool) -> dict[str, Any]:
    """Resolved model files and their sha256 (so that new weights invalidate old records)."""
    from aufx.edit.engine import artefact_paths
    from aufx.gan.loaders import resolve_spec

    generator = str(resolve_spec(spec.model.generator))
    default_editor, default_regions = artefact_paths(spec.model.generator)
    context: dict[str, Any] = {
        "generator": generator,
        "psi": spec.model.psi,
        "image_size": spec.image_size,
    }
    files = {"generator": generator}
    if need_editor:
        editor = spec.model.editor or str(default_editor)
        if not Path(editor).is_file():
            raise ValueError(f"model.editor: {editor} does not exist; aufx methods need the global editor "
                             "(train it with `aufx train editor` or set model.editor)")  # fmt: skip
        files["editor"] = editor
    if need_regions:
        regions = spec.model.regions or str(default_regions)
        if not Path(regions).is_file():
            raise ValueError(f"model.regions: {regions} does not exist; local modes need the region catalog "
                             "(make it with `aufx train regions` or set model.regions)")  # fmt: skip
        files["regions"] = regions
    if spec.model.analyzer not in ("none", "landmarks"):
        from aufx.au.model import BUNDLED_PATH

        analyzer = str(BUNDLED_PATH) if spec.model.analyzer == "synthfacs" else spec.model.analyzer
        if not Path(analyzer).is_file():
            raise ValueError(f"model.analyzer: {analyzer} does not exist; train it with `aufx train analyzer`, "
                             "give a path, or set analyzer = \"none\" (metrics then hold pixel change only)")  # fmt: skip
        files["analyzer"] = analyzer
    context.update(files)
    context["sha256"] = {k: file_digest(v) for k, v in sorted(files.items())}
    if spec.model.analyzer == "landmarks":  # a name the workers load, digested by its model files
        context["analyzer"] = "landmarks"
        context["sha256"] = dict(sorted({**context["sha256"], "analyzer": landmark_models_digest()}.items()))
    return context


def landmark_models_digest() -> str:
    """One sha256 for the landmark analyzer: of its dlib model files' digests (new models, new records).

    Raises:
        ValueError: naming the missing package of the ``real`` extra (``model.analyzer = "landmarks"``).
    """
    from hashlib import sha256

    from aufx.edit.analyzer import landmark_analyzer
    from aufx.real.dlib_models import PREDICTOR_68, RECOGNITION_RESNET, model_path

    try:
        landmark_analyzer()
    except ValueError as error:
        raise ValueError(f"model.analyzer: {error}") from None
    return sha256("".join(file_digest(model_path(n)) for n in (PREDICTOR_68, RECOGNITION_RESNET)).encode()).hexdigest()


def _method_unit(spec: Spec, method: Any) -> dict[str, Any]:
    params = method.options
    unit = {"name": method.name, "kind": method.kind, "params": params}
    weights = params.get("weights")
    if weights not in (None, "random", "fit"):
        from baselines.base import WEIGHTS_DIR

        bundled = [WEIGHTS_DIR / f"{method.kind}{suffix}" for suffix in (".pt", ".npz")]  # .npz: latent-space peers
        path = next((p for p in bundled if p.is_file()), bundled[0]) if weights == "bundled" else Path(weights)
        unit["weights_sha256"] = file_digest(path) if path.is_file() else "missing"
    return unit


#: The latent-space peers: baselines that edit a face's latent in the spec's generator.
LATENT_PEER_KINDS = ("interfacegan", "stylespace")
#: Methods that edit a face through its latent (the faces' w is stored, or found by inversion).
LATENT_KINDS = frozenset({"aufx", "gan-local-editing", *LATENT_PEER_KINDS})


def build_plan(spec: Spec) -> Plan:
    """Expand ``spec`` into face and stimulus units (deterministic order)."""
    methods_used = {m.name: m for t in spec.tasks for m in spec.methods_for(t)}
    kinds = {m.kind for m in methods_used.values()}
    need_latent = bool(kinds & LATENT_KINDS)
    modes = {m.options["mode"] for m in methods_used.values() if m.kind == "aufx"}
    context = model_context(
        spec, need_editor="aufx" in kinds, need_regions=any(m.startswith("local-") for m in modes)
    )
    sources = expand_faces(spec.sources)
    targets = (
        expand_faces(spec.targets)
        if spec.targets is not None and any(t.kind == "transfer" for t in spec.tasks)
        else []
    )
    face_units: dict[str, dict[str, Any]] = {}

    def face_id(description: dict[str, Any]) -> str:
        fid = opaque_id(spec, "f", description, 12)
        if fid not in face_units:
            face_units[fid] = {"stage": "face", "face_id": fid, "face": description, "need_latent": need_latent,
                               "invert_steps": (spec.sources if description in sources else spec.targets or spec.sources).invert_steps,
                               "context": context}  # fmt: skip
        return fid

    source_ids = [face_id(d) for d in sources]
    target_ids = [face_id(d) for d in targets]
    items: list[dict[str, Any]] = []
    stimuli: list[dict[str, Any]] = []
    for t_index, task in enumerate(spec.tasks):
        if task.kind == "transfer":
            if task.pairing == "zip":
                pairs = [(s, target_ids[i % len(target_ids)]) for i, s in enumerate(source_ids)]
            else:
                pairs = [(s, t) for s in source_ids for t in target_ids]
            per_source = [
                (s, {"kind": "transfer", "min_change": task.min_change}, t) for s, t in pairs
            ]
        elif task.kind == "au":
            per_source = [
                (s, {"kind": "au", "aus": dict(e), "relative": task.relative}, "")
                for s in source_ids
                for e in task.edits
            ]
        else:
            per_source = [(s, {"kind": "emotion", "emotion": e, "intensity": task.intensity}, "")
                          for s in source_ids for e in task.emotions]  # fmt: skip
        for source_id, edit, target_id in per_source:
            description = {"task": t_index, "edit": edit, "source": source_id, "target": target_id}
            item_id = opaque_id(spec, "i", description, 12)
            items.append(
                {
                    "item_id": item_id,
                    "task": task.kind,
                    "source_id": source_id,
                    "target_id": target_id,
                    "edit": edit,
                }
            )
            for method in spec.methods_for(task):
                stimulus_id = opaque_id(spec, "s", {"item": description, "method": method.name}, 16)
                stimuli.append({
                    "stage": "stimulus", "stimulus_id": stimulus_id, "item_id": item_id, "task": task.kind,
                    "source_id": source_id, "target_id": target_id, "edit": edit, "method": _method_unit(spec, method),
                    "faces": {fid: unit_key(face_units[fid]) for fid in (source_id, target_id) if fid},
                    "context": context, "study_seed": spec.seed,
                })  # fmt: skip
    ids = [s["stimulus_id"] for s in stimuli]
    if len(set(ids)) != len(ids):  # identical items listed twice in the spec
        raise ValueError(
            f"{spec.path}: two stimuli would be identical (the same edit listed twice in a task?)"
        )
    return Plan(list(face_units.values()), stimuli, context, items)
