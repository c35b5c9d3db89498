"""``--config FILE``: options read from a TOML or JSON object (a run directory's ``config.json``
is one), or from the config that a model file (``.safetensors``) records. Unknown keys are
refused naming the key; the caller checks the types."""

from __future__ import annotations

import json
import os
from pathlib import Path


def read_options(path: os.PathLike | str) -> dict:
    """The object FILE holds (keys as written); ValueError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--config {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            from .model_file import read_model_file

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
