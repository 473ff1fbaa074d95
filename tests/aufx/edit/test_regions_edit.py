"""aufx.edit.regions: the Eq. 8-9 edits and the neutral faces come from the ``edit`` callable when given."""

from __future__ import annotations

import torch

from aufx.aus import AU_CODES
from aufx.edit.catalog import RegionCatalog
from aufx.edit.global_editor import EditorConfig, GlobalEditor
from aufx.edit.regions import au_relations, capture_activations, neutralize, sample_ws
from aufx.gan.networks import Generator, GeneratorConfig


def tiny():
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(img_resolution=32, z_dim=16, w_dim=16, channel_base=256, channel_max=16,
                                          mapping_layers=2)).eval().requires_grad_(False)  # fmt: skip
    return generator, GlobalEditor(EditorConfig(w_dim=16)).eval()


def test_relations_use_the_edit_callable_for_every_au():
    generator, editor = tiny()
    ws = sample_ws(generator, 4, seed=0)
    acts, _ = capture_activations(generator, ws, "b16.conv1")
    catalog = RegionCatalog(n_clusters=3, layer="b16.conv1", random_state=0).fit(acts)
    calls = []

    def unchanged(w, targets):
        calls.append(dict(targets))
        return w

    relations = au_relations(generator, editor, catalog, ws, 3.0, edit=unchanged)
    assert [next(iter(c)) for c in calls] == list(AU_CODES) and all(c[next(iter(c))] == 3.0 for c in calls)
    assert torch.count_nonzero(relations.r_ak) == 0  # no edit, no change in any cluster
    moved = au_relations(generator, editor, catalog, ws, 3.0, edit=lambda w, t: w + 0.5)
    assert torch.count_nonzero(moved.r_ak) > 0


def test_neutralize_asks_the_edit_callable_for_all_16_aus_at_zero():
    generator, editor = tiny()
    ws = sample_ws(generator, 2, seed=0)
    seen = {}

    def record(w, targets):
        seen.update(targets)
        return w * 0

    assert torch.equal(neutralize(editor, ws, edit=record), ws * 0)
    assert seen == dict.fromkeys(AU_CODES, 0.0)
