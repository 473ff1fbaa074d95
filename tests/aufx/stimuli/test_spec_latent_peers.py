"""Specs can name the latent-space peers (interfacegan, stylespace) for every task; plans key their bundled files."""

from __future__ import annotations

import tomllib

import pytest

from aufx.gan.checkpoint import save_aufx
from aufx.stimuli.plan import build_plan, file_digest
from aufx.stimuli.spec import SUPPORTS, SpecError, load_spec, parse_spec
from baselines.interfacegan import BUNDLED as IFG_FILE
from baselines.stylespace import BUNDLED as SS_FILE
from tests.aufx.edit.tiny import tiny_generator

SPEC = """
name = "peers"
image_size = 32
[model]
generator = "g.pt"
analyzer = "none"
[sources]
kind = "seeds"
seeds = "0-1"
[[tasks]]
kind = "au"
edits = [{AU12 = 2.0}]
[[tasks]]
kind = "emotion"
emotions = ["happiness"]
[[methods]]
kind = "interfacegan"
[[methods]]
kind = "stylespace"
weights = "random"
"""


def test_latent_peers_do_every_task_and_take_weights(tmp_path):
    spec = parse_spec(tomllib.loads(SPEC), tmp_path / "spec.toml")
    assert [m.kind for m in spec.methods] == ["interfacegan", "stylespace"]
    for task in spec.tasks:
        assert [m.name for m in spec.methods_for(task)] == ["interfacegan", "stylespace"]
    assert SUPPORTS["interfacegan"] == SUPPORTS["stylespace"] == ("transfer", "au", "emotion")
    with pytest.raises(SpecError, match="methods\\[0\\].region"):
        parse_spec(tomllib.loads(SPEC.replace('kind = "interfacegan"', 'kind = "interfacegan"\nregion = "mouth"')), tmp_path / "s.toml")


@pytest.mark.skipif(not (IFG_FILE.is_file() and SS_FILE.is_file()), reason="no bundled latent-peer files")
def test_plan_keys_stimuli_by_the_bundled_npz(tmp_path):
    save_aufx(tiny_generator(), tmp_path / "g.pt")
    (tmp_path / "peers.toml").write_text(SPEC.replace('weights = "random"', 'weights = "bundled"'))
    plan = build_plan(load_spec(tmp_path / "peers.toml"))
    digests = {u["method"]["kind"]: u["method"]["weights_sha256"] for u in plan.stimuli}
    assert digests == {"interfacegan": file_digest(IFG_FILE), "stylespace": file_digest(SS_FILE)}
    assert len(plan.stimuli) == 2 * 2 * 2  # 2 faces x (1 AU edit + 1 emotion) x 2 methods


BUNDLED_SPEC = """
name = "peers-bundled"
image_size = 128
[model]
generator = "synthfacs128"
analyzer = "synthfacs"
psi = 1.0
[sources]
kind = "seeds"
seeds = "2-3"
[[tasks]]
kind = "au"
edits = [{AU12 = 2.0}]
[[methods]]
kind = "interfacegan"
[[methods]]
kind = "stylespace"
[[methods]]
kind = "gan-local-editing"
weights = "bundled"
"""


def test_latent_peers_edit_the_stored_latents_of_the_bundled_model_without_inversion(tmp_path, monkeypatch):
    """Two seed faces at psi 1 (true AUs known), AU12 +2: both peers raise AU12 and never invert;
    GAN Local Editing takes the same AU task from the stored latents too (reference retrieved)."""
    import csv

    import aufx.gan.projector as projector
    from aufx.cli import main

    def no_inversion(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a latent-space peer inverted a face whose latent is stored")

    monkeypatch.setattr(projector, "project", no_inversion)
    spec = tmp_path / "peers.toml"
    spec.write_text(BUNDLED_SPEC)
    assert main(["stimuli", str(spec), "--out", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader((tmp_path / "out" / "metrics.csv").open()))
    assert sorted(r["method"] for r in rows) == ["gan-local-editing"] * 2 + ["interfacegan"] * 2 + ["stylespace"] * 2
    assert all(float(r["change_AU12"]) > 0.3 for r in rows if r["method"] != "gan-local-editing")
    # GLE copies the mouth's styles from the bank face nearest in mouth AUs: weaker, but it rises (one face +1.47)
    assert max(float(r["change_AU12"]) for r in rows if r["method"] == "gan-local-editing") > 0.3
