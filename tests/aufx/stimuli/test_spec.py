"""Spec validation: every error names the key and the allowed values; plans and ids are deterministic and opaque."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from aufx.gan.checkpoint import save_aufx
from aufx.stimuli.plan import build_plan, unit_key
from aufx.stimuli.spec import DEFAULT_QUESTIONS, SpecError, load_spec, parse_spec
from tests.aufx.edit.tiny import tiny_generator

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "study.toml"

BASE = """
name = "s"
[sources]
kind = "seeds"
seeds = "0-3"
[targets]
kind = "seeds"
seeds = [10, 11]
[[tasks]]
kind = "transfer"
[[methods]]
kind = "aufx"
mode = "local-mux"
[[methods]]
kind = "ganimation"
weights = "random"
"""


def parse(text: str, tmp_path: Path):
    return parse_spec(tomllib.loads(text), tmp_path / "spec.toml")


def test_valid_spec_defaults(tmp_path):
    spec = parse(BASE, tmp_path)
    assert spec.name == "s" and spec.seed == 0 and spec.image_size == 128
    assert spec.sources.seeds == (0, 1, 2, 3) and spec.targets.seeds == (10, 11)
    assert [m.name for m in spec.methods] == ["aufx-local-mux", "ganimation"]
    assert spec.methods[0].options["steps"] == 200
    assert spec.study["design"] == "latin-square" and spec.study["scale"] == {"points": 5}
    assert [q["id"] for q in spec.study["questions"]] == [q["id"] for q in DEFAULT_QUESTIONS]


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (('name = "s"', 'name = "bad name"'), ["name", "letters, digits"]),
        (
            ('name = "s"', 'name = "s"\ncolour = 1'),
            ["colour", "unknown key", "allowed: name, seed"],
        ),
        (
            ('kind = "seeds"\nseeds = "0-3"', 'kind = "faces"\nseeds = "0-3"'),
            ["sources.kind", "seeds, synthfacs, folder", "'faces'"],
        ),
        (('seeds = "0-3"', 'seeds = "3-0"'), ["sources.seeds", "ends before it starts"]),
        (('seeds = "0-3"', "seeds = [1, 1]"), ["sources.seeds", "distinct"]),
        (
            ('seeds = "0-3"', 'seeds = "0-3"\nn = 4'),
            ["sources.n", "does not apply", "kind = 'seeds'"],
        ),
        (
            ('kind = "transfer"', 'kind = "swap"'),
            ["tasks[0].kind", "transfer, au, emotion", "'swap'"],
        ),
        (
            ('kind = "transfer"', 'kind = "transfer"\npairing = "all"'),
            ["tasks[0].pairing", "zip, cross"],
        ),
        (
            ('kind = "transfer"', 'kind = "au"\nedits = [{AU99 = 1}]'),
            ["tasks[0].edits[0]", "AU99", "AU01, AU02"],
        ),
        (
            ('kind = "transfer"', 'kind = "au"\nedits = [{AU12 = 9}]'),
            ["tasks[0].edits[0].AU12", "[-5, 5]"],
        ),
        (
            ('kind = "transfer"', 'kind = "emotion"\nemotions = ["joy"]'),
            ["tasks[0].emotions[0]", "happiness", "'joy'"],
        ),
        (
            ('mode = "local-mux"', 'mode = "local"'),
            ["methods[0].mode", "global-opt, global-linear, local-opt, local-mux"],
        ),
        (('mode = "local-mux"', 'mode = "local-mux"\nsteps = -1'), ["methods[0].steps", ">= 0"]),
        (
            ('mode = "local-mux"', 'mode = "local-mux"\nsteps = "many"'),
            ["methods[0].steps", "an integer"],
        ),
        (
            ('kind = "ganimation"', 'kind = "pix2pix"'),
            ["methods[1].kind", "aufx, stargan, ganimation, cascade-efgan, gan-local-editing"],
        ),
        (
            ('weights = "random"', 'weights = "nowhere.pt"'),
            ["methods[1].weights", "bundled, random", "nowhere.pt"],
        ),
        (
            ('weights = "random"', 'weights = "random"\nregion = "mouth"'),
            ["methods[1].region", "unknown key"],
        ),
    ],
)
def test_errors_name_key_and_allowed_values(tmp_path, change, needles):
    old, new = change
    assert old in BASE
    with pytest.raises(SpecError) as info:
        parse(BASE.replace(old, new, 1), tmp_path)
    message = str(info.value)
    assert str(tmp_path / "spec.toml") in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_cross_checks(tmp_path):
    with pytest.raises(SpecError, match=r"targets: is required by transfer tasks"):
        parse(BASE.replace('[targets]\nkind = "seeds"\nseeds = [10, 11]\n', ""), tmp_path)
    stargan = (
        BASE.replace('kind = "transfer"', 'kind = "au"\nedits = [{AU12 = 1}]')
        + '[[methods]]\nkind = "stargan"\nweights = "random"\n'
    )
    with pytest.raises(
        SpecError, match=r"tasks\[0\].*latin-square.*'stargan' does not do 'au'.*design = 'within'"
    ):
        parse(stargan, tmp_path)
    within = parse(stargan + '[study]\ndesign = "within"\n', tmp_path)
    assert [m.name for m in within.methods_for(within.tasks[0])] == ["aufx-local-mux", "ganimation"]
    with pytest.raises(SpecError, match=r"methods: method names must be unique; 'ganimation'"):
        parse(BASE + '[[methods]]\nkind = "ganimation"\nweights = "random"\n', tmp_path)
    with pytest.raises(SpecError, match=r"study.scale.anchors: must be 3 strings"):
        parse(BASE + '[study.scale]\npoints = 3\nanchors = ["a", "b"]\n', tmp_path)
    with pytest.raises(SpecError, match=r"study.questions\[0\].anchors: must be 5 strings"):
        parse(BASE + '[[study.questions]]\nid = "q"\ntext = "Q?"\nanchors = ["x"]\n', tmp_path)


def test_load_spec_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such spec file"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(SpecError, match=r"bad.toml: not valid TOML"):
        load_spec(bad)


def test_example_spec_is_valid():
    spec = load_spec(EXAMPLE)
    assert len(spec.sources.seeds) >= 20
    kinds = {m.kind for m in spec.methods}
    assert kinds == {"aufx", "stargan", "ganimation", "cascade-efgan", "gan-local-editing"}
    assert {m.options.get("mode") for m in spec.methods if m.kind == "aufx"} == {
        "global-opt",
        "global-linear",
        "local-opt",
        "local-mux",
    }


BASELINES_ONLY = """
name = "b"
seed = {seed}
image_size = 32
[model]
generator = "g.pt"
analyzer = "none"
[sources]
kind = "seeds"
seeds = "0-2"
[targets]
kind = "seeds"
seeds = "5-6"
[[tasks]]
kind = "transfer"
pairing = "cross"
[[tasks]]
kind = "emotion"
emotions = ["happiness", "sad"]
[[methods]]
kind = "stargan"
weights = "random"
[[methods]]
name = "ganimation-untrained"
kind = "ganimation"
weights = "random"
"""


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("g")
    save_aufx(tiny_generator(), root / "g.pt")
    return root


def plan_for(root: Path, seed: int = 3):
    path = root / f"b{seed}.toml"
    path.write_text(BASELINES_ONLY.format(seed=seed))
    return build_plan(load_spec(path))


def test_plan_items_ids_and_keys(generator_file):
    plan = plan_for(generator_file)
    assert len(plan.faces) == 5  # 3 sources + 2 targets
    assert len(plan.items) == 3 * 2 + 3 * 2  # cross pairs + emotions
    assert len(plan.stimuli) == len(plan.items) * 2
    again = plan_for(generator_file)
    assert [s["stimulus_id"] for s in again.stimuli] == [s["stimulus_id"] for s in plan.stimuli]
    assert [unit_key(s) for s in again.stimuli] == [unit_key(s) for s in plan.stimuli]
    other = plan_for(generator_file, seed=4)
    assert not {s["stimulus_id"] for s in other.stimuli} & {s["stimulus_id"] for s in plan.stimuli}
    names = ("stargan", "ganimation", "untrained", "aufx", "gan", "star")
    for unit in plan.stimuli:
        ident = unit["stimulus_id"]
        assert (
            ident.startswith("s")
            and len(ident) == 17
            and all(c in "0123456789abcdef" for c in ident[1:])
        )
        assert not any(n in ident for n in names)
    emotion_items = [i for i in plan.items if i["task"] == "emotion"]
    assert all(i["target_id"] == "" for i in emotion_items)
    assert len({unit_key(s) for s in plan.stimuli}) == len(plan.stimuli)


def test_plan_needs_editor_for_aufx(generator_file):
    path = generator_file / "a.toml"
    path.write_text(
        BASELINES_ONLY.format(seed=1) + '[[methods]]\nkind = "aufx"\nmode = "global-opt"\n'
    )
    with pytest.raises(ValueError, match=r"model.editor: .*g_editor.pt does not exist"):
        build_plan(load_spec(path))
