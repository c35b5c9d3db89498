"""``python -m betavae.data {info,generate,export,import-chairs}``: inspect, pre-generate, export
and import datasets."""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m betavae.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="describe a dataset (name or file); checks a file's layout")
    p.add_argument("dataset", help="a dataset name (README, 'Datasets') or an .npz/.h5 path")
    p.add_argument("--path", default=None, help="the official file or directory of a named one")
    p = sub.add_parser("generate", help="generate procedural dSprites into the cache")
    p.add_argument("--quiet", action="store_true")
    p = sub.add_parser("export", help="write a dataset in the official npz or HDF5 layout")
    p.add_argument("dataset")
    p.add_argument("out", help="output file, .npz or .h5")
    p.add_argument("--path", default=None, help="the official file or directory of a named one")
    p = sub.add_parser("import-chairs", help="convert a folder of 3D Chairs renders to HDF5")
    p.add_argument("folder")
    p.add_argument("out", help="output .h5 file")
    p.add_argument("--rgb", action="store_true", help="keep colour (default: grey)")
    p.add_argument("--crop", type=int, default=400, help="centre-crop side before resizing")
    args = parser.parse_args(argv)

    from . import cache, export, get_dataset
    from .chairs import import_chairs

    try:
        if args.command == "info":
            data = get_dataset(args.dataset, path=args.path)
            print(data)
            store = data.images
            where = f"memory-mapped from {store.mapped_file}" if store.mapped_file else "in memory"
            print(
                f"images: {tuple(store.shape)} uint8, "
                f"{'bit-packed binary' if store.packed is not None else 'bytes'}, "
                f"{(store.packed if store.packed is not None else store.raw).nbytes / 2**20:.1f} "
                f"MB {where}"
            )
        elif args.command == "generate":
            start = time.perf_counter()
            data = get_dataset("dsprites", quiet=args.quiet)
            print(
                f"{len(data)} images ready in {time.perf_counter() - start:.1f} s "
                f"(cache: {cache.cache_dir()})"
            )
        elif args.command == "export":
            print(f"wrote {export(get_dataset(args.dataset, path=args.path), args.out)}")
        elif args.command == "import-chairs":
            print(f"wrote {import_chairs(args.folder, args.out, rgb=args.rgb, crop=args.crop)}")
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
