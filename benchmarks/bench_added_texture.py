"""Where in frequency the texture that each trained baseline adds lies (issue 17's noise goal).

    .venv/bin/python benchmarks/bench_added_texture.py                  # table to stdout
    .venv/bin/python benchmarks/bench_added_texture.py --write-results  # and its section in RESULTS.md

Each bundled baseline edits ``--n`` held-out validation faces (:mod:`baselines.validation`: StarGAN
to RaFD classes, GANimation and Cascade EF-GAN to AU vectors); :func:`aufx.metrics.added_texture_spectrum`
splits the high-frequency energy its outputs add over the unedited sources (residuals against the
ideal renders) into the lines of a 2- and a 4-pixel period (the checkerboard of stride-2
transposed convolutions, which all three generators upsample with) and the rest of the band;
:func:`aufx.metrics.noise_ratio` beside it, and again with those lines removed from the outputs,
the sources and the ideal renders alike (:func:`without_period_lines`). If the added texture sits
on those lines, an upsampling without transposed convolutions would remove it; if it is spread
over the band, it would not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_md import replace_section  # noqa: E402

SECTION = "## Baselines: where their added texture lies (issue 17)"
AFTER_SECTION = "## Baselines at 128 px: trained until their validation stops improving (issue 17)"
METHODS = ("stargan", "ganimation", "cascade-efgan")
EMOTION_CONDITIONED = {"stargan"}
#: The module docstring's third paragraph (what the measures mean), on one line, for RESULTS.md.
DESCRIPTION = " ".join(__doc__.split("\n\n")[2].split())


def without_period_lines(images: torch.Tensor, periods: tuple[int, ...] = (2, 4)) -> torch.Tensor:
    """``images`` ``[N, C, S, S]`` with the Fourier lines of each pixel period in ``periods`` removed
    (``|fx|`` or ``|fy|`` = S / period): a notch filter for a transposed convolution's checkerboard."""
    from aufx.metrics import period_lines

    size = images.shape[-1]
    keep = torch.from_numpy(~np.any([period_lines(size, p) for p in periods], axis=0))
    return torch.fft.ifft2(torch.fft.fft2(images.double()) * keep).real.to(images.dtype)


def measure(method: str, n: int) -> dict[str, float]:
    """The bundled ``method`` on ``n`` held-out faces: :func:`added_texture_spectrum` and the noise ratio."""
    from aufx.metrics import added_texture_spectrum, noise_ratio
    from baselines.registry import adapter_class
    from baselines.validation import edit_all, validation_set

    by_label = method in EMOTION_CONDITIONED
    vset = validation_set(128, n=n, emotion=by_label)
    adapter = adapter_class(method)().load()
    with torch.no_grad():
        outputs = edit_all(adapter, vset, by_label, batch=8)
    notched = (without_period_lines(x) for x in (outputs, vset.images, vset.ideal))
    return {**added_texture_spectrum(outputs, vset.images, vset.ideal),
            "noise_ratio": noise_ratio(outputs, vset.images, vset.ideal), "noise_ratio_notched": noise_ratio(*notched)}  # fmt: skip


def table(rows: dict[str, dict[str, float]]) -> list[str]:
    """The Markdown table of :func:`measure`'s rows."""
    first = next(iter(rows.values()))
    lines = ["| method | residual energy over the sources': high band | on the 2-px-period lines | on the 4-px-period lines "
             "| elsewhere in the band | added energy on the 2-px / 4-px lines / elsewhere | noise ratio "
             "| noise ratio without the 2- and 4-px lines |", "|---|---:|---:|---:|---:|---|---:|---:|"]  # fmt: skip

    def shares(r: dict[str, float]) -> str:
        if r["period2"] != r["period2"]:  # NaN: the band gained nothing
            return "— (none added)"
        return f"{r['period2']:.0%} / {r['period4']:.0%} / {1.0 - r['period2'] - r['period4']:.0%}"

    for method, r in rows.items():
        lines.append(f"| {method} | {r['excess']:.2f} | {r['period2_ratio']:.2f} | {r['period4_ratio']:.2f} | "
                     f"{r['elsewhere_ratio']:.2f} | {shares(r)} | {r['noise_ratio']:.2f} | {r['noise_ratio_notched']:.2f} |")
    lines.append(f"| (white noise) | | | | | {first['period2_bins']:.0%} / {first['period4_bins']:.0%} / "
                 f"{1 - first['period2_bins'] - first['period4_bins']:.0%} | | |")
    return lines


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32, help="held-out faces per method")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = {m: measure(m, args.n) for m in args.methods.split(",")}
    lines = table(rows)
    print("\n".join(lines))
    if args.write_results:
        from datetime import UTC, datetime

        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = "\n".join([
            SECTION, "",
            f"`python benchmarks/bench_added_texture.py --n {args.n} --write-results` ({when}; the bundled weights, "
            f"{args.n} held-out faces each). {DESCRIPTION}", "",
            "High band: max(|fx|, |fy|) ≥ a quarter of the side (cycles per image); the row \"white noise\" is the "
            "share of the band's bins on each set of lines, what noise spread evenly would put there.", "",
            *lines, ""])  # fmt: skip
        replace_section(args.results, SECTION, section, after=AFTER_SECTION)
    return rows


if __name__ == "__main__":
    main()
