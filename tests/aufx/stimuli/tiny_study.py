"""A tiny model folder for the stimuli tests and benchmark: a 32-px random generator with its global
editor, region catalog and a randomly initialised face analyzer (none of them trained to be good:
they exercise the real code paths, fast). Baselines in the spec use ``weights = "random"``
(randomly initialised adapters, marked as such in the manifest's parameters)."""

from __future__ import annotations

from pathlib import Path

import torch

from aufx.au.model import AnalyzerConfig, FaceAnalyzer
from aufx.edit.catalog import RegionCatalog
from aufx.edit.dataset import sample_latent_dataset
from aufx.edit.directions import au_directions, calibrate
from aufx.edit.global_editor import EditorConfig, save_editor, train_editor
from aufx.edit.regions import capture_activations, sample_ws
from aufx.gan.checkpoint import save_aufx
from tests.aufx.edit.tiny import TinyAnalyzer, tiny_generator


def make_tiny_model(root: Path) -> Path:
    """Write tiny.pt, tiny_editor.pt, tiny_regions.json and analyzer.pt into ``root``; returns tiny.pt."""
    root.mkdir(parents=True, exist_ok=True)
    G = tiny_generator()
    path = save_aufx(G, root / "tiny.pt")
    dataset = sample_latent_dataset(G, TinyAnalyzer(), 64)
    editor, report = train_editor(
        dataset, EditorConfig(w_dim=16, shared=(32, 32), branch=(8, 8)), epochs=2
    )
    slopes = calibrate(au_directions(editor), editor, torch.from_numpy(dataset.w[:8]))
    save_editor(editor, root / "tiny_editor.pt", report, slopes.tolist())
    acts, _ = capture_activations(G, sample_ws(G, 8, 0))
    catalog = RegionCatalog(n_clusters=5, random_state=0, batch_size=512).fit(acts)
    catalog.set_au_clusters(
        {code: [0, 1] for code in ("AU01", "AU04", "AU06", "AU12", "AU15", "AU25", "AU26")}
    )
    catalog.save(root / "tiny_regions.json")
    torch.manual_seed(0)
    FaceAnalyzer(
        AnalyzerConfig(channels=(4, 4, 4, 4), hidden=8, embedding=4, pyramid=4)
    ).eval().save(root / "analyzer.pt")
    return path


ALL_METHODS = """
[[methods]]
kind = "aufx"
mode = "global-opt"
steps = 3
[[methods]]
kind = "aufx"
mode = "local-opt"
steps = 3
local_steps = 2
[[methods]]
kind = "aufx"
mode = "local-mux"
steps = 3
[[methods]]
kind = "stargan"
weights = "random"
[[methods]]
kind = "ganimation"
weights = "random"
[[methods]]
kind = "cascade-efgan"
weights = "random"
[[methods]]
kind = "gan-local-editing"
weights = "fit"
n_images = 6
n_clusters = 4
"""


def write_spec(
    root: Path, n: int = 2, methods: str = ALL_METHODS, extra: str = "", name: str = "tiny"
) -> Path:
    """A transfer spec over ``n`` seed faces with every method (for the tiny model in ``root``)."""
    text = f"""
name = "{name}"
seed = 7
image_size = 32
[model]
generator = "tiny.pt"
analyzer = "analyzer.pt"
psi = 0.7
[sources]
kind = "seeds"
seeds = "0-{n - 1}"
[targets]
kind = "seeds"
seeds = "{100}-{100 + n - 1}"
[[tasks]]
kind = "transfer"
min_change = 0.0
{extra}
{methods}
"""
    path = root / f"{name}.toml"
    path.write_text(text)
    return path
