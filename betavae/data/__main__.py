"""``python -m betavae.data {download,info,generate,export,import-chairs}``: download the official
datasets, inspect, pre-generate, export and import datasets."""

from __future__ import annotations

import argparse
import sys
import time

from .fetch import DownloadError
from .sources import SOURCES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m betavae.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    names = ", ".join(SOURCES)
    p = sub.add_parser("download", help="download, verify and unpack an official dataset")
    p.add_argument("name", help=f"one of {names}")
    p.add_argument(
        "--dir",
        default=None,
        help="the data directory (default: $BETAVAE_CACHE or "
        "~/.cache/betavae, where the trainer looks)",
    )
    p = sub.add_parser("info", help="describe a dataset (name or file); checks a file's layout")
    p.add_argument(
        "dataset",
        help=f"a dataset name (docs/data.md) or an .npz/.h5 path; {names} (and "
        "dsprites-official) without --path: whether its downloaded files are present and verify",
    )
    p.add_argument("--path", default=None, help="the official file or directory of a named one")
    p.add_argument("--dir", default=None, help="the data directory of downloaded files")
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
    from .download import download, show_downloaded

    try:
        if args.command == "download":
            print(f"ready: {download(args.name, args.dir)}")
        elif args.command == "info" and args.path is None and _downloadable(args.dataset):
            show_downloaded(args.dataset, args.dir)
        elif args.command == "info":
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
    except (ValueError, TypeError, OSError, DownloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _downloadable(name: str) -> bool:
    return name in SOURCES or name == "dsprites-official"


if __name__ == "__main__":
    sys.exit(main())
