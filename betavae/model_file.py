"""``python -m betavae.model_file RUN_DIR OUT.safetensors [--commit SHA]``: export a run's trained
model (weights + config, no optimiser state) as a model file (format: betavae.model_format;
loading: betavae.trained)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .model_format import ModelFileError, is_model_file, read_model_file, save_model_file
from .trained import export_model_file

__all__ = ["ModelFileError", "is_model_file", "main", "read_model_file", "save_model_file"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m betavae.model_file",
        description="Export a run's trained model (weights + config, no optimiser state) as a "
        "safetensors model file that `python -m betavae.evaluate` and "
        "`betavae.trained.load_trained` read.",
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--commit", default="", help="the commit that trained the model")
    args = parser.parse_args(argv)
    try:
        print(f"wrote {export_model_file(args.run_dir, args.out, args.commit)}")
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
