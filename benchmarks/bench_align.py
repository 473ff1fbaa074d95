"""Time of ``aufx align`` per photograph, by stage: face detection, 68 landmarks, FFHQ alignment.

    python benchmarks/bench_align.py [--photos 5] [--width 1600] [--height 1200] [--size 1024]

The photos are SynthFACS renders (dlib detects their faces) scaled to a face of ~40% of the
photo height and placed on a noisy background. Prints wall and CPU (process) seconds per stage,
median over the photos; the CPU figures hold when the machine is shared. Model loading (once per
process) is reported separately.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image


def make_photo(index: int, width: int, height: int) -> Image.Image:
    from aufx.synthfacs import render, sample_params

    params = sample_params(1, seed=100 + index)
    face = render(params.aus, params.identity, size=256).images[0]
    face_u8 = ((face.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
    side = int(height * 0.4 / 0.6)  # the rendered face fills ~60% of its square
    face_img = Image.fromarray(face_u8).resize((side, side), Image.Resampling.BICUBIC)
    rng = np.random.default_rng(index)
    canvas = Image.fromarray(rng.integers(90, 170, (height, width, 3), dtype=np.uint8))
    canvas.paste(face_img, ((width - side) // 2 + rng.integers(-50, 50), (height - side) // 2))
    return canvas


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1200)
    parser.add_argument("--size", type=int, default=1024, help="aligned output side (FFHQ: 1024)")
    args = parser.parse_args(argv)

    from aufx.real import dlib_models
    from aufx.real.align import align_face

    _, load_wall, load_cpu = timed(lambda: (dlib_models.face_detector(), dlib_models.landmark_predictor()))
    detector, predictor = dlib_models.face_detector(), dlib_models.landmark_predictor()
    stages: dict[str, list[tuple[float, float]]] = {"detect": [], "landmarks": [], "align": []}
    for i in range(args.photos):
        photo = make_photo(i, args.width, args.height)
        array = np.asarray(photo)
        (boxes, _, _), w, c = timed(detector.run, array, 1, 0.0)
        stages["detect"].append((w, c))
        if len(boxes) == 0:
            print(f"photo {i}: no face detected; skipped")
            continue
        shape, w, c = timed(predictor, array, boxes[0])
        stages["landmarks"].append((w, c))
        landmarks = np.array([[shape.part(k).x, shape.part(k).y] for k in range(68)], dtype=np.float64)
        _, w, c = timed(align_face, photo, landmarks, args.size)
        stages["align"].append((w, c))
    print(f"photos {args.width}x{args.height}, output {args.size}x{args.size}, {len(stages['align'])} faces")
    print(f"model loading (once): wall {load_wall:.2f} s, CPU {load_cpu:.2f} s")
    total_w = total_c = 0.0
    for name, values in stages.items():
        if values:
            w, c = np.median([v[0] for v in values]), np.median([v[1] for v in values])
            total_w, total_c = total_w + w, total_c + c
            print(f"{name:<10} median wall {w:.3f} s, CPU {c:.3f} s")
    print(f"{'per photo':<10} median wall {total_w:.3f} s, CPU {total_c:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
