"""The study spec (TOML): which faces, which edits, which methods, and the study's questions.

:func:`load_spec` reads a spec with :mod:`tomllib` and checks every key explicitly; a
:class:`SpecError` (a ``ValueError``) names the key, the bad value and the allowed values.
``examples/study.toml`` documents every key. Shape of the file::

    name = "paper-transfer"      # study id (letters, digits, - and _)
    seed = 0                     # keys the opaque stimulus ids; seeds every random choice
    image_size = 128             # side of every written PNG
    [model]      generator, editor, regions, analyzer, psi
    [sources]    kind = "seeds" | "synthfacs" | "folder" (+ seeds / n, seed, invert_steps / path, latents)
    [targets]    same schema; needed by transfer tasks
    [[tasks]]    kind = "transfer" | "au" | "emotion" (+ pairing, min_change / edits, relative / emotions, intensity)
    [[methods]]  name, kind = "aufx" | a baseline name (+ mode, steps, ... / weights, region, ...)
    [study]      what the study server reads: title, design, questions, scale, ...
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aufx.aus import AU_MAX, AU_MIN, EMOTION_PROTOTYPES, RAFD_TO_PROTOTYPE, AUError, normalize_au
from aufx.defaults import DEFAULT_MODEL

SOURCE_KINDS = ("seeds", "synthfacs", "folder")
TASK_KINDS = ("transfer", "au", "emotion")
AUFX_MODES = ("global-opt", "global-linear", "local-opt", "local-mux")
BASELINE_KINDS = ("stargan", "ganimation", "cascade-efgan", "gan-local-editing", "interfacegan", "stylespace")
METHOD_KINDS = ("aufx",) + BASELINE_KINDS
PAIRINGS = ("zip", "cross")
DESIGNS = ("latin-square", "within")
GLE_REGIONS = ("eyes", "nose", "mouth", "brows")

#: Which task kinds each method kind can do (see docs/stimuli.md for how targets are mapped).
SUPPORTS: dict[str, tuple[str, ...]] = {
    "aufx": TASK_KINDS,
    "stargan": ("transfer", "emotion"),
    "ganimation": TASK_KINDS,
    "cascade-efgan": TASK_KINDS,
    "gan-local-editing": TASK_KINDS,  # au / emotion: regions of the AUs, reference retrieved from a bank
    "interfacegan": TASK_KINDS,
    "stylespace": TASK_KINDS,
}

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
_EMOTIONS = tuple(EMOTION_PROTOTYPES) + tuple(
    k for k, v in RAFD_TO_PROTOTYPE.items() if v is not None
)

#: Keys of ``[study]`` that are passed to the study server's ``study.toml``.
STUDY_KEYS = (
    "title", "information", "instructions", "debrief", "design", "practice_trials", "attention_checks",
    "min_view_ms", "completion_code", "completion_url", "allow_repeat", "demographics", "open",
    "questions", "scale", "exclusion",
)  # fmt: skip

#: The paper's three questions, 5-point Likert with labelled anchors (the default of ``[study]``).
DEFAULT_QUESTIONS: tuple[dict[str, Any], ...] = (
    {"id": "expression", "text": "How successfully was the expression of the target transferred to the source face?",
     "anchors": ["Not at all", "Slightly", "Moderately", "Mostly", "Completely"]},
    {"id": "identity", "text": "How well is the identity of the source face preserved?",
     "anchors": ["Not at all", "Slightly", "Moderately", "Mostly", "Completely"]},
    {"id": "artifacts", "text": "How free of artifacts is the edited image?",
     "anchors": ["Many artifacts", "Several", "Some", "Few", "No artifacts"]},
)  # fmt: skip


class SpecError(ValueError):
    """An invalid study spec; the message names the file, the key, the value and what is allowed."""


#: Analyzer names a spec may give instead of a file: the bundled SynthFACS analyzer, none (pixel
#: change only), or ``landmarks`` (dlib landmarks and identity for real faces: no AU measures).
ANALYZER_NAMES = ("synthfacs", "none", "landmarks")

@dataclass(frozen=True)
class Faces:
    """A set of faces: generator seeds, SynthFACS renders, or a folder of images (+ latents)."""

    kind: str
    seeds: tuple[int, ...] = ()
    n: int = 0
    seed: int = 0
    invert_steps: int = 300
    path: str = ""
    latents: str = ""

    def describe(self) -> dict[str, Any]:
        if self.kind == "seeds":
            return {"kind": "seeds", "seeds": list(self.seeds)}
        if self.kind == "synthfacs":
            return {
                "kind": "synthfacs",
                "n": self.n,
                "seed": self.seed,
                "invert_steps": self.invert_steps,
            }
        return {
            "kind": "folder",
            "path": self.path,
            "latents": self.latents,
            "invert_steps": self.invert_steps,
        }


@dataclass(frozen=True)
class Task:
    """One kind of edit applied to every source face."""

    kind: str
    pairing: str = "zip"
    min_change: float = 0.5
    edits: tuple[tuple[tuple[str, float], ...], ...] = ()
    relative: bool = True
    emotions: tuple[str, ...] = ()
    intensity: float = 3.0
    methods: tuple[str, ...] = ()  # names; empty = every method


@dataclass(frozen=True)
class Method:
    """An editing method with its parameters; ``name`` is the manifest's ``method`` value."""

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class ModelSpec:
    generator: str = DEFAULT_MODEL
    editor: str = ""
    regions: str = ""
    analyzer: str = "synthfacs"
    psi: float = 0.7


@dataclass(frozen=True)
class Spec:
    """A validated study spec; paths inside are absolute (relative ones resolve beside the spec file)."""

    path: Path
    name: str
    seed: int
    image_size: int
    model: ModelSpec
    sources: Faces
    targets: Faces | None
    tasks: tuple[Task, ...]
    methods: tuple[Method, ...]
    study: dict[str, Any] = field(default_factory=dict)

    def methods_for(self, task: Task) -> list[Method]:
        return [
            m
            for m in self.methods
            if (not task.methods or m.name in task.methods) and task.kind in SUPPORTS[m.kind]
        ]

    def with_model(self, generator: str | None = None, analyzer: str | None = None) -> Spec:
        """This spec with another generator and/or analyzer (``aufx stimuli --model / --analyzer``)."""
        from dataclasses import replace

        from aufx.gan.loaders import BUNDLED_MODELS

        model = self.model
        if generator:
            model = replace(
                model,
                generator=generator
                if generator in BUNDLED_MODELS
                else str(Path(generator).resolve()),
            )
        if analyzer:
            model = replace(
                model,
                analyzer=analyzer
                if analyzer in ANALYZER_NAMES
                else str(Path(analyzer).resolve()),
            )
        return replace(self, model=model)


# ---------------------------------------------------------------------------- checks
class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(f"{self.where}: {key}: {message}")

    def table(self, data: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a table, got {data!r}")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(
                f"{key}.{unknown[0]}" if key else unknown[0],
                f"unknown key (allowed: {', '.join(allowed)})",
            )
        return data

    def value(
        self, data: dict, key: str, prefix: str, kind: type | tuple[type, ...], default: Any = ...
    ) -> Any:
        full = f"{prefix}.{key}" if prefix else key
        if key not in data:
            if default is ...:
                raise self.fail(full, "is required")
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(full, f"must be {_names(kinds)}, got {value!r}")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            raise self.fail(full, f"must be {_names(kinds)}, got {value!r}")
        return value

    def choice(
        self, data: dict, key: str, prefix: str, allowed: tuple[str, ...], default: Any = ...
    ) -> str:
        value = self.value(data, key, prefix, str, default)
        if value not in allowed:
            raise self.fail(
                f"{prefix}.{key}" if prefix else key,
                f"must be one of {', '.join(allowed)}, got {value!r}",
            )
        return value

    def positive(
        self, data: dict, key: str, prefix: str, default: Any = ..., minimum: int = 1
    ) -> int:
        value = self.value(data, key, prefix, int, default)
        if value < minimum:
            raise self.fail(f"{prefix}.{key}", f"must be an integer >= {minimum}, got {value}")
        return value


def _names(kinds: tuple[type, ...]) -> str:
    words = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "an array",
        dict: "a table",
    }
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def parse_seeds(value: Any, key: str, check: _Checker) -> tuple[int, ...]:
    """``[0, 1, 5]``, ``"0-19"`` or ``"0-3,7"`` -> a tuple of distinct non-negative seeds."""
    seeds: list[int] = []
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        seeds = list(value)
    elif isinstance(value, str):
        for part in value.split(","):
            match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
            if not match:
                raise check.fail(
                    key, f"must be a list of integers or a range like '0-19', got {value!r}"
                )
            lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
            if hi < lo:
                raise check.fail(key, f"range {part.strip()!r} ends before it starts")
            seeds.extend(range(lo, hi + 1))
    else:
        raise check.fail(key, f"must be a list of integers or a range like '0-19', got {value!r}")
    if not seeds:
        raise check.fail(key, "is empty")
    if any(s < 0 or s >= 2**32 for s in seeds):
        raise check.fail(key, "seeds must lie in 0..2**32-1")
    if len(set(seeds)) != len(seeds):
        raise check.fail(key, "seeds must be distinct")
    return tuple(seeds)


def _resolve(base: Path, text: str) -> str:
    if not text:
        return ""
    path = Path(os.path.expanduser(text))
    return str(path if path.is_absolute() else (base / path).resolve())


def _faces(data: Any, key: str, check: _Checker, base: Path) -> Faces:
    table = check.table(
        data, key, ("kind", "seeds", "n", "seed", "invert_steps", "path", "latents")
    )
    kind = check.choice(table, "kind", key, SOURCE_KINDS)
    allowed = {"seeds": {"kind", "seeds"}, "synthfacs": {"kind", "n", "seed", "invert_steps"},
               "folder": {"kind", "path", "latents", "invert_steps"}}[kind]  # fmt: skip
    extra = sorted(set(table) - allowed)
    if extra:
        raise check.fail(
            f"{key}.{extra[0]}",
            f"does not apply to kind = {kind!r} (allowed: {', '.join(sorted(allowed))})",
        )
    if kind == "seeds":
        if "seeds" not in table:
            raise check.fail(f"{key}.seeds", "is required for kind = 'seeds'")
        return Faces("seeds", seeds=parse_seeds(table["seeds"], f"{key}.seeds", check))
    steps = check.positive(table, "invert_steps", key, 300)
    if kind == "synthfacs":
        return Faces("synthfacs", n=check.positive(table, "n", key), seed=check.positive(table, "seed", key, 0, minimum=0),
                     invert_steps=steps)  # fmt: skip
    folder = _resolve(base, check.value(table, "path", key, str))
    if not Path(folder).is_dir():
        raise check.fail(f"{key}.path", f"folder {folder!r} does not exist")
    latents = _resolve(base, check.value(table, "latents", key, str, ""))
    if latents and not Path(latents).is_file():
        raise check.fail(
            f"{key}.latents", f"file {latents!r} does not exist (write it with `aufx invert`)"
        )
    return Faces("folder", path=folder, latents=latents, invert_steps=steps)


def _edit(value: Any, key: str, check: _Checker, relative: bool) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, dict) or not value:
        raise check.fail(key, f"must be a non-empty table like {{AU12 = 2.0}}, got {value!r}")
    result = {}
    for name, amount in value.items():
        try:
            code = normalize_au(name)
        except AUError as error:
            raise check.fail(key, str(error)) from None
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise check.fail(f"{key}.{name}", f"must be a number, got {amount!r}")
        low, high = (-AU_MAX, AU_MAX) if relative else (AU_MIN, AU_MAX)
        if not low <= amount <= high:
            raise check.fail(
                f"{key}.{name}",
                f"must lie in [{low:g}, {high:g}] ({'a change' if relative else 'a target'}), got {amount}",
            )
        if code in result:
            raise check.fail(key, f"{code} given twice")
        result[code] = float(amount)
    return tuple(sorted(result.items()))


def _task(data: Any, key: str, check: _Checker) -> Task:
    table = check.table(
        data,
        key,
        ("kind", "pairing", "min_change", "edits", "relative", "emotions", "intensity", "methods"),
    )
    kind = check.choice(table, "kind", key, TASK_KINDS)
    allowed = {
        "transfer": {"pairing", "min_change"},
        "au": {"edits", "relative"},
        "emotion": {"emotions", "intensity"},
    }[kind]
    extra = sorted(set(table) - allowed - {"kind", "methods"})
    if extra:
        raise check.fail(
            f"{key}.{extra[0]}",
            f"does not apply to kind = {kind!r} (allowed: kind, methods, {', '.join(sorted(allowed))})",
        )
    methods = check.value(table, "methods", key, list, [])
    if not all(isinstance(m, str) for m in methods):
        raise check.fail(f"{key}.methods", f"must be an array of method names, got {methods!r}")
    if kind == "transfer":
        min_change = check.value(table, "min_change", key, float, 0.5)
        if not 0 <= min_change <= AU_MAX:
            raise check.fail(f"{key}.min_change", f"must lie in [0, {AU_MAX:g}], got {min_change}")
        return Task(
            "transfer",
            pairing=check.choice(table, "pairing", key, PAIRINGS, "zip"),
            min_change=min_change,
            methods=tuple(methods),
        )
    if kind == "au":
        relative = check.value(table, "relative", key, bool, True)
        edits = check.value(table, "edits", key, list)
        if not edits:
            raise check.fail(f"{key}.edits", "must list at least one edit, e.g. [{AU12 = 2.0}]")
        parsed = tuple(_edit(e, f"{key}.edits[{i}]", check, relative) for i, e in enumerate(edits))
        return Task("au", edits=parsed, relative=relative, methods=tuple(methods))
    emotions = check.value(table, "emotions", key, list)
    if not emotions:
        raise check.fail(f"{key}.emotions", f"must list at least one of {', '.join(_EMOTIONS)}")
    for i, emotion in enumerate(emotions):
        if not isinstance(emotion, str) or emotion.strip().lower() not in _EMOTIONS:
            raise check.fail(
                f"{key}.emotions[{i}]", f"must be one of {', '.join(_EMOTIONS)}, got {emotion!r}"
            )
    intensity = check.value(table, "intensity", key, float, 3.0)
    if not AU_MIN < intensity <= AU_MAX:
        raise check.fail(
            f"{key}.intensity", f"must lie in ({AU_MIN:g}, {AU_MAX:g}], got {intensity}"
        )
    return Task(
        "emotion",
        emotions=tuple(e.strip().lower() for e in emotions),
        intensity=intensity,
        methods=tuple(methods),
    )


#: Parameters each method kind accepts: name -> (type, default).
METHOD_PARAMS: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "aufx": {"mode": (str, "local-mux"), "steps": (int, 200), "lr": (float, 0.01), "local_steps": (int, 100),
             "sigma": (float, 0.0), "orthogonal": (bool, False)},
    "stargan": {"weights": (str, "bundled")},
    "ganimation": {"weights": (str, "bundled")},
    "cascade-efgan": {"weights": (str, "bundled")},
    "interfacegan": {"weights": (str, "bundled")},
    "stylespace": {"weights": (str, "bundled")},
    "gan-local-editing": {"weights": (str, "fit"), "region": (str, "mouth"), "n_images": (int, 200),
                          "n_clusters": (int, 20)},
}  # fmt: skip


def _method(data: Any, key: str, check: _Checker, base: Path) -> Method:
    if not isinstance(data, dict):
        raise check.fail(key, f"must be a table, got {data!r}")
    kind = check.choice(data, "kind", key, METHOD_KINDS)
    allowed = METHOD_PARAMS[kind]
    check.table(data, key, ("name", "kind", *allowed))
    name = check.value(data, "name", key, str, kind if kind != "aufx" else None)
    if name is None:
        name = f"aufx-{check.choice(data, 'mode', key, AUFX_MODES, 'local-mux')}"
    if not _SLUG.match(name):
        raise check.fail(
            f"{key}.name", f"must be letters, digits, '-' or '_' (at most 64), got {name!r}"
        )
    params: dict[str, Any] = {}
    for param, (kind_, default) in allowed.items():
        params[param] = check.value(data, param, key, kind_, default)
    if kind == "aufx":
        if params["mode"] not in AUFX_MODES:
            raise check.fail(
                f"{key}.mode", f"must be one of {', '.join(AUFX_MODES)}, got {params['mode']!r}"
            )
        for param in ("steps", "local_steps"):
            if params[param] < 0:
                raise check.fail(f"{key}.{param}", f"must be >= 0, got {params[param]}")
        if params["lr"] <= 0 or params["sigma"] < 0:
            raise check.fail(
                f"{key}.lr" if params["lr"] <= 0 else f"{key}.sigma",
                "must be positive (lr) / >= 0 (sigma)",
            )
    else:
        weights = params["weights"]
        keywords = (
            ("bundled", "random", "fit") if kind == "gan-local-editing" else ("bundled", "random")
        )
        if weights not in keywords:
            path = _resolve(base, weights)
            if not Path(path).exists():
                raise check.fail(
                    f"{key}.weights",
                    f"must be one of {', '.join(keywords)} or an existing checkpoint path, got {weights!r}",
                )
            params["weights"] = path
    if kind == "gan-local-editing":
        if params["region"] not in GLE_REGIONS:
            raise check.fail(
                f"{key}.region",
                f"must be one of {', '.join(GLE_REGIONS)}, got {params['region']!r}",
            )
        if params["n_images"] < 2 or params["n_clusters"] < 2:
            raise check.fail(f"{key}.n_images", "n_images and n_clusters must be >= 2")
    return Method(name, kind, tuple(sorted(params.items())))


def _questions(study: dict, check: _Checker, points: int) -> None:
    questions = study.get("questions")
    if questions is None:
        return
    if not isinstance(questions, list) or not questions:
        raise check.fail(
            "study.questions", "must be a non-empty array of tables with id, text, anchors"
        )
    ids = []
    for i, q in enumerate(questions):
        key = f"study.questions[{i}]"
        check.table(q, key, ("id", "text", "anchors"))
        qid = check.value(q, "id", key, str)
        if not _SLUG.match(qid):
            raise check.fail(f"{key}.id", f"must be letters, digits, '-' or '_', got {qid!r}")
        if not check.value(q, "text", key, str).strip():
            raise check.fail(f"{key}.text", "must not be empty")
        anchors = q.get("anchors")
        if anchors is not None and (
            not isinstance(anchors, list)
            or len(anchors) != points
            or not all(isinstance(a, str) for a in anchors)
        ):
            raise check.fail(
                f"{key}.anchors", f"must be {points} strings (one per scale point), got {anchors!r}"
            )
        ids.append(qid)
    if len(set(ids)) != len(ids):
        raise check.fail("study.questions", f"ids must be unique, got {ids}")


def _study(data: Any, check: _Checker) -> dict[str, Any]:
    study = dict(check.table(data, "study", STUDY_KEYS))
    design = check.choice(study, "design", "study", DESIGNS, "latin-square")
    study["design"] = design
    scale = check.table(study.get("scale", {}), "study.scale", ("points", "anchors"))
    points = check.value(scale, "points", "study.scale", int, 5)
    if not 2 <= points <= 9:
        raise check.fail("study.scale.points", f"must be 2..9, got {points}")
    anchors = scale.get("anchors")
    if anchors is not None and (
        not isinstance(anchors, list)
        or len(anchors) != points
        or not all(isinstance(a, str) for a in anchors)
    ):
        raise check.fail("study.scale.anchors", f"must be {points} strings, got {anchors!r}")
    _questions(study, check, points)
    if "questions" not in study and points == 5:
        study["questions"] = [dict(q) for q in DEFAULT_QUESTIONS]
    study["scale"] = {"points": points, **({"anchors": anchors} if anchors is not None else {})}
    for key, kind in (("title", str), ("information", str), ("instructions", str), ("debrief", str),
                      ("completion_code", str), ("completion_url", str), ("practice_trials", int), ("min_view_ms", int),
                      ("allow_repeat", bool), ("demographics", bool), ("open", bool), ("attention_checks", list),
                      ("exclusion", dict)):  # fmt: skip
        if key in study:
            check.value(study, key, "study", kind)
    return study


def parse_spec(data: dict[str, Any], path: Path) -> Spec:
    """Validate a parsed TOML document (see the module doc); ``path`` locates relative paths and errors."""
    check = _Checker(str(path))
    base = path.resolve().parent
    check.table(
        data,
        "",
        ("name", "seed", "image_size", "model", "sources", "targets", "tasks", "methods", "study"),
    )
    name = check.value(data, "name", "", str)
    if not _SLUG.match(name):
        raise check.fail("name", f"must be letters, digits, '-' or '_' (at most 64), got {name!r}")
    seed = check.value(data, "seed", "", int, 0)
    if not 0 <= seed < 2**32:
        raise check.fail("seed", f"must lie in 0..2**32-1, got {seed}")
    image_size = check.value(data, "image_size", "", int, 128)
    if not 16 <= image_size <= 1024:
        raise check.fail("image_size", f"must lie in 16..1024, got {image_size}")
    m = check.table(
        data.get("model", {}), "model", ("generator", "editor", "regions", "analyzer", "psi")
    )
    generator = check.value(m, "generator", "model", str, DEFAULT_MODEL)
    analyzer = check.value(m, "analyzer", "model", str, "synthfacs")
    from aufx.gan.loaders import BUNDLED_MODELS

    model = ModelSpec(
        generator=generator if generator in BUNDLED_MODELS else _resolve(base, generator),
        editor=_resolve(base, check.value(m, "editor", "model", str, "")),
        regions=_resolve(base, check.value(m, "regions", "model", str, "")),
        analyzer=analyzer if analyzer in ANALYZER_NAMES else _resolve(base, analyzer),
        psi=check.value(m, "psi", "model", float, 0.7),
    )
    if "sources" not in data:
        raise check.fail("sources", "is required (a table with kind = seeds | synthfacs | folder)")
    sources = _faces(data["sources"], "sources", check, base)
    targets = _faces(data["targets"], "targets", check, base) if "targets" in data else None
    raw_tasks = check.value(data, "tasks", "", list)
    if not raw_tasks:
        raise check.fail(
            "tasks", f"must list at least one [[tasks]] (kinds: {', '.join(TASK_KINDS)})"
        )
    tasks = tuple(_task(t, f"tasks[{i}]", check) for i, t in enumerate(raw_tasks))
    raw_methods = check.value(data, "methods", "", list)
    if not raw_methods:
        raise check.fail(
            "methods", f"must list at least one [[methods]] (kinds: {', '.join(METHOD_KINDS)})"
        )
    methods = tuple(_method(mm, f"methods[{i}]", check, base) for i, mm in enumerate(raw_methods))
    names = [mm.name for mm in methods]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise check.fail(
            "methods", f"method names must be unique; {dup[0]!r} is used twice (set name = ...)"
        )
    study = _study(data.get("study", {}), check)
    spec = Spec(
        path.resolve(), name, seed, image_size, model, sources, targets, tasks, methods, study
    )
    for i, task in enumerate(tasks):
        unknown = [n for n in task.methods if n not in names]
        if unknown:
            raise check.fail(
                f"tasks[{i}].methods",
                f"unknown method {unknown[0]!r} (methods: {', '.join(names)})",
            )
        for n in task.methods:
            kind = next(mm.kind for mm in methods if mm.name == n)
            if task.kind not in SUPPORTS[kind]:
                raise check.fail(f"tasks[{i}].methods", f"method {n!r} ({kind}) cannot do {task.kind!r} tasks "
                                 f"(it does: {', '.join(SUPPORTS[kind])})")  # fmt: skip
        if not spec.methods_for(task):
            raise check.fail(f"tasks[{i}]", f"no method can do {task.kind!r} tasks")
        if task.kind == "transfer" and targets is None:
            raise check.fail("targets", "is required by transfer tasks (a table like [sources])")
        if study["design"] == "latin-square":
            lacking = [mm.name for mm in methods if mm not in spec.methods_for(task)]
            if lacking:
                raise check.fail(f"tasks[{i}]", f"study.design = 'latin-square' needs every method on every item, but "
                                 f"{lacking[0]!r} does not do {task.kind!r} tasks; set study.design = 'within' "
                                 "or make a separate spec per task")  # fmt: skip
    return spec


def load_spec(path: str | os.PathLike) -> Spec:
    """Read and validate a spec file; raises :class:`SpecError` / ``FileNotFoundError``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such spec file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    return parse_spec(data, path)
