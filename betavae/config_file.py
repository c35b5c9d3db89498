"""``--config FILE``: options read from a TOML or JSON object (a run directory's ``config.json``
is one), or from the config that a model file (``.safetensors``) records. Unknown keys are
refused naming the key. :func:`explicit_flags` is the trainer's command line: the flags given,
over a --config FILE's fields, over the preset (betavae.config.config_from)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .config import build_parser, checked_fields
from .model_format import read_model_file


def read_options(path: os.PathLike | str) -> dict:
    """The object FILE holds (keys as written); ValueError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--config {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            return read_model_file(path)[1].to_dict()
        if suffix == ".toml":
            values = _toml(path.read_bytes().decode("utf-8"))
        else:
            values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"--config {path}: cannot read it ({exc})") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"--config {path}: must hold an object of fields; got a {type(values).__name__}"
        )
    return values


def _toml(text: str) -> dict:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover (older Pythons)
        try:
            import tomli as tomllib
        except ImportError:
            raise ValueError("a TOML --config needs Python 3.11 (or tomli); use JSON") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML ({exc})") from None


def refuse_unknown(values: dict, known, where: str) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")


def merged_options(path: str | None, given: dict, types: dict[str, type], defaults: dict) -> dict:
    """Options of a command: ``defaults``, then a --config FILE's (keys and value types from
    ``types``; a list type takes a list of strings), then the flags ``given`` (None: not given)."""
    values = read_options(path) if path else {}
    refuse_unknown(values, types, f"--config {path}")
    for key, value in values.items():
        kind = types[key]
        ok = all(isinstance(v, str) for v in value) if kind is list else not isinstance(value, bool)
        if not isinstance(value, kind) or not ok:
            raise ValueError(f"--config {path}: {key!r} must be {kind.__name__}; got {value!r}")
    explicit = {k: v for k, v in given.items() if v is not None}
    return {**defaults, **values, **explicit}


def explicit_flags(argv: list[str] | None) -> dict:
    """The flags the user actually gave (None means not given), over the fields of a --config
    FILE when one is given."""
    args = build_parser().parse_args(argv)
    flags = {k: v for k, v in vars(args).items() if v is not None}
    if "color_range" in flags:
        flags["color_range"] = tuple(flags["color_range"])
    file = flags.pop("config", None)
    if file is None:
        return flags
    if "resume" in flags:
        raise ValueError("--resume takes its config from the checkpoint; drop --config")
    return {**file_fields(file), **flags}


def file_fields(path: str) -> dict:
    """The TrainConfig fields of a --config FILE, checked, without ``out`` and ``resume``."""
    values = checked_fields(read_options(path), where=f"--config {path}")
    return {k: v for k, v in values.items() if k not in ("out", "resume")}
