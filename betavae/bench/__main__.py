"""Command line of the benchmarks: ``python -m betavae.bench {ops,data,train}``."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path


def _write(out: str | None, markdown: str) -> None:
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        path.write_text(f"{markdown}\n\nGenerated {stamp} by `python -m betavae.bench`.\n")
        print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m betavae.bench", description=__doc__)
    sub = parser.add_subparsers(dest="suite", required=True)
    p_ops = sub.add_parser("ops", help="fused ops vs eager and compiled reference")
    p_ops.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p_ops.add_argument(
        "--quick",
        action="store_true",
        help="dSprites shapes only, few repetitions, no torch.compile (< 1 min)",
    )
    p_ops.add_argument("--no-compile", action="store_true", help="skip the compiled reference")
    p_ops.add_argument("--out", help="also write the table as markdown to this file")
    p_data = sub.add_parser("data", help="batch sampler throughput")
    p_data.add_argument("--device", default="cpu")
    p_data.add_argument("--batch-size", type=int, default=64)
    p_data.add_argument("--out", help="also write the table as markdown to this file")
    p_train = sub.add_parser("train", help="training images/s: fused vs reference vs plain loop")
    p_train.add_argument("--device", default="cpu")
    p_train.add_argument("--data", default="dsprites")
    p_train.add_argument("--steps", type=int, default=20, help="steps per timed window")
    p_train.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        help="seconds a variant may take (compiling included)",
    )
    p_train.add_argument("--no-compile", action="store_true", help="skip the compiled variants")
    p_train.add_argument(
        "--concurrent",
        type=int,
        nargs="*",
        default=[1, 2],
        metavar="N",
        help="also time N trainings at once, cores/N threads each (reproduce --jobs N); "
        "default 1 2, none to skip",
    )
    p_train.add_argument("--out", help="also write the table as markdown to this file")
    args = parser.parse_args(argv)

    if args.suite == "ops":
        from .ops import run

        text, markdown = run(
            args.device, quick=args.quick, use_compile=not (args.quick or args.no_compile)
        )
        print(text)
        _write(args.out, markdown)
    elif args.suite == "data":
        from .data import run as run_data

        text, markdown = run_data(args.device, batch_size=args.batch_size)
        print(text)
        _write(args.out, markdown)
    elif args.suite == "train":
        from .train import run as run_train

        text, markdown = run_train(
            args.device,
            args.data,
            steps=args.steps,
            use_compile=not args.no_compile,
            timeout_s=args.timeout,
            concurrent=tuple(args.concurrent),
        )
        print(text)
        _write(args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
