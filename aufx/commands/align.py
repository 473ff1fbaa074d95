"""``aufx align``: FFHQ-style alignment of photographs (needs the ``real`` extra).

    aufx align photos/*.jpg --out aligned/ [--size 1024] [--upsample 1] [--max-faces K]

Writes ``<stem>_01.png`` ... per detected face and ``landmarks.csv``; see :mod:`aufx.real.align`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "align", help="align photographs the way FFHQ was aligned (dlib 68 landmarks)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO", help="photographs (any format Pillow reads)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--size", type=int, default=1024, help="aligned image side in px (default 1024, FFHQ's)")
    parser.add_argument("--upsample", type=int, default=1, help="detector upsampling for small faces (default 1)")
    parser.add_argument("--max-faces", type=int, default=None, help="keep only the K largest faces per photo")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from aufx.cli import CommandError
    from aufx.real.align_photos import align_photos
    from aufx.real.dlib_models import import_dlib, models_dir

    import_dlib()  # one clear line when the extra is missing, before any work
    models_dir()
    report = align_photos(args.photos, args.out, size=args.size, upsample=args.upsample, max_faces=args.max_faces)
    for _, reason in report.failures:
        print(f"aufx align: skipped {reason}", file=sys.stderr)
    if report.written:
        print(f"wrote {len(report.written)} aligned faces and {report.csv.name} to {args.out}")
    if report.failures:
        if len(args.photos) == 1:
            raise CommandError(report.failures[0][1])
        raise CommandError(f"{len(report.failures)} of {len(args.photos)} photos gave no aligned face (first: {report.failures[0][1]})")
    return 0
