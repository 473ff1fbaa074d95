"""A stimuli run reports each warning of its units once, with the count of units that warned it,
instead of once per face (or per message and worker process) — and the global-linear step cap in
one line for all AU combinations."""

from __future__ import annotations

import json
import re
import warnings

import pytest

import aufx.stimuli.work
from aufx.edit.engine import EditingModel
from aufx.stimuli import load_spec
from aufx.stimuli.run import run_stimuli
from tests.aufx.stimuli.tiny_study import make_tiny_model, write_spec

LINEAR = """
[[methods]]
kind = "aufx"
mode = "global-linear"
"""
AU_TASK = """
[[tasks]]
kind = "au"
edits = [{AU12 = 1.5}, {AU06 = 1.0, AU12 = 2.0}]
methods = ["aufx-global-linear"]
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny")).parent


def said_per_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every image a unit writes warns the same (as a per-face warning would)."""
    png_bytes = aufx.stimuli.work.png_bytes

    def warning_png_bytes(image):  # type: ignore[no-untyped-def]
        warnings.warn("said per image", RuntimeWarning, stacklevel=2)
        return png_bytes(image)

    monkeypatch.setattr(aufx.stimuli.work, "png_bytes", warning_png_bytes)


@pytest.mark.parametrize("workers", [0, 1], ids=["loop", "dask-thread"])
def test_each_warning_is_reported_once_per_run_with_its_count(model_dir, tmp_path, monkeypatch, workers):
    # a cap of ~0: every global-linear step of the run is shortened (3 faces x 3 edits = 9 stimuli)
    monkeypatch.setattr(EditingModel, "latent_radius", lambda self, n=1000: 1e-6)
    said_per_image(monkeypatch)
    spec = load_spec(write_spec(model_dir, n=3, methods=LINEAR, extra=AU_TASK, name="capped"))
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a warning per face would show every time
        summary = run_stimuli(spec, out, workers=workers, progress=False)
    assert len(summary.plan.faces) == 6 and len(summary.plan.stimuli) == 9 and len(summary.linear_capped) == 9
    aus = sorted({au for codes in summary.linear_capped.values() for au in codes})
    assert {"AU06", "AU12"} <= set(aus)  # the au task's; the transfer items add the AUs they change
    said = [(c.category, str(c.message)) for c in caught if "Dask" not in str(c.message)]
    assert len(said) == len(set(said))  # each thing once
    assert (RuntimeWarning, "said per image (for 6 of this run's faces)") in said
    assert (RuntimeWarning, "said per image (for 9 of this run's stimuli)") in said
    assert [s for s in said if "cap" in s[1]] == [
        (UserWarning, f"global-linear shortened the W-space step to the cap on 9 of this run's stimuli (AUs "
                      f"{', '.join(aus)}): their targets are not reached; use mode global-opt for them"),
    ]  # fmt: skip
    # the tiny model's own per-face warnings (its transfer items), with their counts
    transfer = [m for _, m in said if m.startswith("linear transfer leaves out")]
    assert all(re.search(r"\(for [123] of this run's stimuli\)$", m) for m in transfer)
    # the records on disk stay as they were (byte-identical runs); the notes are for this run only
    records = list((out / ".aufx-stimuli" / "records").glob("*.json"))
    assert len(records) == 15 and not any({"linear_capped", "warnings"} & set(json.loads(r.read_text())) for r in records)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        rerun = run_stimuli(spec, out, workers=workers, progress=False)  # every unit done: nothing to say
    assert rerun.ran == 0 and not rerun.linear_capped and not rerun.warnings
    # Dask's own notices are not the pipeline's: its start-up messages, a port taken by another
    # cluster on the machine ("Hosting the HTTP server on port ... instead"), sockets it leaves to GC
    unexpected = [f"{c.category.__name__}: {c.message} ({c.filename}:{c.lineno})" for c in again
                  if "Dask" not in str(c.message) and "distributed" not in c.filename
                  and not (c.category is ResourceWarning and str(c.message).startswith("unclosed <socket"))]  # fmt: skip
    assert not unexpected


def test_the_engine_still_warns_outside_a_stimuli_run(model_dir, monkeypatch):
    monkeypatch.setattr(EditingModel, "latent_radius", lambda self, n=1000: 1e-6)
    model = EditingModel.load(model_dir / "tiny.pt", editor=model_dir / "tiny_editor.pt")
    w = model.latents_from_seeds([0])
    seen: list[tuple[tuple[str, ...], int, float]] = []
    model.on_linear_cap = lambda aus, faces, cap: seen.append((aus, faces, cap))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the hook replaces the warning
        model.global_edit(w, {"AU12": 2.0}, True, "linear")
    assert seen == [(("AU12",), 1, 0.5e-6)]
    model.on_linear_cap = None
    with pytest.warns(UserWarning, match="global-linear edit of AU12: some faces need a W-space step"):
        model.global_edit(w, {"AU12": 2.0}, True, "linear")
