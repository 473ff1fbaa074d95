"""The bundled latent-space peers, built from the registry, raise AU12 on the bundled model's faces."""

import pytest
import torch

from aufx.aus import AU_INDEX
from aufx.edit.analyzer import analyze, load_analyzer
from aufx.edit.dataset import seed_latents
from baselines import registry
from baselines.latent_edit import AUEdit


@pytest.mark.parametrize("method", ["interfacegan", "stylespace"])
def test_registry_adapter_raises_au12_on_bundled_faces(method):
    adapter = registry.get(method, load=True)
    g = adapter.generator
    with torch.no_grad():
        w = g.mapping(seed_latents(g.z_dim, range(9000, 9004)))[:, 0]
        faces = g.synthesis(w)
    out = adapter.edit(faces, AUEdit({"AU12": 2.0}, source_ws=w))
    assert out.shape == (4, 3, 128, 128) and adapter.weights_source == "bundled"
    analyzer = load_analyzer("synthfacs")
    rise = analyze(analyzer, out).aus[:, AU_INDEX["AU12"]] - analyze(analyzer, faces).aus[:, AU_INDEX["AU12"]]
    assert float(rise.mean()) > 0.5
