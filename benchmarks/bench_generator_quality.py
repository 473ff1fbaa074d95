"""Generator quality of a SynthFACS generator, with its time and memory cost.

Runs ``aufx model quality`` (``aufx.gan.quality``: Fréchet distance of analyzer features vs
fresh SynthFACS renders and its render-vs-render floor, AU marginals, identity diversity), which
prints Markdown tables for ``benchmarks/RESULTS.md`` ("Generator quality"), then the peak RSS.

    .venv/bin/python benchmarks/bench_generator_quality.py --n 10000 --threads 1

writes ``benchmarks/generator_quality/`` (quality.json, au_marginals.csv/.png, samples.png) and
``docs/img/synthfacs128_samples.png``.
"""

from __future__ import annotations

import argparse
import resource
import sys

from aufx.cli import main as aufx_main
from aufx.defaults import DEFAULT_MODEL  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"bundled name or path (default {DEFAULT_MODEL})")
    parser.add_argument("--n", type=int, default=10_000, help="faces per set (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/generator_quality")
    parser.add_argument("--grid", default="docs/img/synthfacs128_samples.png", help="sample grid to write ('' for none)")
    parser.add_argument("--json", default=None, help="also write quality.json here (e.g. aufx/weights/synthfacs128.quality.json)")
    args = parser.parse_args(argv)
    command = ["model", "quality", args.model, "--n", str(args.n), "--seed", str(args.seed), "--batch",
               str(args.batch), "--threads", str(args.threads), "--out", args.out]  # fmt: skip
    if args.grid:
        command += ["--grid", args.grid]
    if args.json:
        command += ["--json", args.json]
    status = aufx_main(command)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB")
    return status


if __name__ == "__main__":
    sys.exit(main())
