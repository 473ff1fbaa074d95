"""Render the report of the simulated fixture to ``docs/img/report.png`` with headless chromium.

    python -m analysis.render_docs [--out docs/img/report.png] [--chromium /usr/bin/chromium]

Reproducible: the fixture is ``analysis.fixtures.write_fixture(seed=0)``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

WIDTH = 1200
MAX_HEIGHT = 16000


def render(html: Path, png: Path, chromium: str, width: int = WIDTH) -> Path:
    """Screenshot ``html`` at ``width`` px, then crop the blank tail and quantise the colours."""
    from PIL import Image, ImageChops

    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.png"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--hide-scrollbars", f"--screenshot={raw}", f"--window-size={width},{MAX_HEIGHT}",
             html.resolve().as_uri()],
            check=True, capture_output=True, timeout=300,
        )
        image = Image.open(raw).convert("RGB")
        background = Image.new("RGB", image.size, (255, 255, 255))
        box = ImageChops.difference(image, background).getbbox()
        if box:
            image = image.crop((0, 0, image.width, min(image.height, box[3] + 24)))
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=root / "docs" / "img" / "report.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()

    from analysis.fixtures import write_fixture
    from analysis.report import analyze

    with tempfile.TemporaryDirectory() as tmp:
        files = write_fixture(Path(tmp) / "fixture", seed=0)
        analyze(files["ratings"], Path(tmp) / "report", metrics=files["metrics"],
                directions=files["directions"], clusters=files["clusters"])
        path = render(Path(tmp) / "report" / "report.html", args.out, args.chromium)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
