"""Documentation figures: a grid of sampled faces and a per-AU intensity strip.

    python -m aufx.synthfacs.figures --out docs/img     # synthfacs_grid.png, synthfacs_aus.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from aufx.aus import AU_CODES, N_AUS
from aufx.synthfacs.export import to_uint8
from aufx.synthfacs.renderer import render
from aufx.synthfacs.sampling import sample_params


def sample_grid(rows: int = 6, cols: int = 10, size: int = 64, seed: int = 0, scale: int = 2) -> Image.Image:
    """``rows x cols`` faces drawn from the default distribution, each upscaled ``scale`` x (nearest)."""
    params = sample_params(rows * cols, seed)
    pixels = to_uint8(render(params.aus, params.identity, size=size, with_parts=False).images)
    grid = pixels.reshape(rows, cols, size, size, 3).transpose(0, 2, 1, 3, 4).reshape(rows * size, cols * size, 3)
    image = Image.fromarray(grid)
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def au_strip(levels: tuple[float, ...] = (0, 1, 2, 3, 4, 5), size: int = 64, seed: int = 1,
             scale: int = 2) -> Image.Image:  # fmt: skip
    """One row per AU: the same identity with that AU alone at each of ``levels``; labelled."""
    identity = sample_params(1, seed).identity
    n_levels = len(levels)
    aus = np.zeros((N_AUS, n_levels, N_AUS), np.float32)
    for k in range(N_AUS):
        aus[k, :, k] = levels
    pixels = to_uint8(render(aus.reshape(-1, N_AUS), np.repeat(identity, N_AUS * n_levels, axis=0),
                             size=size, with_parts=False).images)  # fmt: skip
    tile = size * scale
    label_w = 60
    canvas = Image.new("RGB", (label_w + n_levels * tile, 14 + N_AUS * tile), "white")
    draw = ImageDraw.Draw(canvas)
    for j, level in enumerate(levels):
        draw.text((label_w + j * tile + tile // 2 - 8, 1), f"{level:g}", fill="black")
    for k, code in enumerate(AU_CODES):
        draw.text((4, 14 + k * tile + tile // 2 - 6), code, fill="black")
        for j in range(n_levels):
            face = Image.fromarray(pixels[k * n_levels + j]).resize((tile, tile), Image.NEAREST)
            canvas.paste(face, (label_w + j * tile, 14 + k * tile))
    return canvas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/img")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sample_grid().save(out / "synthfacs_grid.png", optimize=True)
    au_strip().save(out / "synthfacs_aus.png", optimize=True)
    print(f"wrote {out / 'synthfacs_grid.png'} and {out / 'synthfacs_aus.png'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
