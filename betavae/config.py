"""Training configuration: one dataclass (every field is a ``python -m betavae.train`` flag), the
presets for every experiment of docs/design.md ("The science"), and validation that fails before
any training starts."""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, fields
from pathlib import Path

from .data import GENERATED, OFFICIAL_FILES

RUNTIME_FIELDS = {  # may differ between a run and its resumption
    "steps",
    "device",
    "backend",
    "out",
    "resume",
    "log_every",
    "save_every",
    "image_every",
    "compile",
    "quiet",
    "amp",
    "eval_every",
    "tensorboard",
    "probe_every",
}


@dataclass
class TrainConfig:
    """All knobs of a training run (the defaults are the paper's dSprites recipe)."""

    preset: str = "dsprites"  # a name from PRESETS; other flags override it
    data: str = "dsprites"  # dataset name (docs/data.md) or a dSprites-layout .npz/.h5
    data_path: str = ""  # official file (shapes3d, mpi3d) or directory (smallnorb, cars3d)
    model: str = "burgess"  # burgess (β-VAE of images) or generator (factor-conditioned, Fig. 3)
    factor_dims: int = 2  # latents per factor channel (model=generator)
    objective: str = "capacity"  # capacity (Burgess et al. 2018) or beta (Higgins et al. 2017)
    beta: float = 4.0  # weight of the KL for objective=beta
    gamma: float = 1000.0  # weight of |KL - C| for objective=capacity
    c_max: float = 25.0  # final capacity C_max in nats
    c_steps: int = 100_000  # steps over which C rises linearly from 0 to C_max
    latent_dim: int = 10  # number of Gaussian latents
    steps: int = 150_000  # optimisation steps in total
    batch_size: int = 64  # images per step (per process under torchrun)
    lr: float = 5e-4  # Adam learning rate
    seed: int = 0  # seeds the model init, the batch sampler and the noise
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    backend: str = "auto"  # fused-op backend: auto, reference, cpu, cuda, triton
    out: str = ""  # run directory (default runs/<preset>-<time>)
    resume: str = ""  # run directory to continue from its checkpoint
    log_every: int = 100  # steps between metrics.jsonl lines
    save_every: int = 5000  # steps between checkpoints
    image_every: int = 10_000  # steps between reconstruction/traversal pictures
    eval_every: int = 0  # steps between in-training MIG/DCI at small counts (0: off)
    probe_every: int = 0  # steps between gradient probes of the encoder's heads (0: off)
    tensorboard: bool = False  # also write TensorBoard events to RUN_DIR/tensorboard/
    compile: bool = False  # torch.compile the model step
    amp: bool = False  # bf16 autocast of the model (CUDA, or a CPU with native bf16)
    quiet: bool = False  # no progress bar or log lines
    blob_width: float = 3.0  # blob standard deviation in pixels (data=blobs)
    color_range: tuple = (0.5, 1.0)  # LO HI: each RGB channel uniform in [LO, HI] (color-dsprites)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """A config from a saved dict (config.json, a checkpoint); ValueError naming unknown or
        ill-typed fields."""
        return cls(**checked_fields(values))

    def check_resume_target(self) -> None:
        """--out beside --resume must name the same directory."""
        if self.resume and self.out and Path(self.out).resolve() != Path(self.resume).resolve():
            raise ValueError(
                f"--resume {self.resume} continues that directory; --out {self.out} contradicts "
                "it (drop --out, or start a new run with --out alone)"
            )

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose from {sorted(PRESETS)}")
        if self.model not in ("burgess", "generator"):
            raise ValueError(f"model must be 'burgess' or 'generator'; got {self.model!r}")
        if self.objective not in ("capacity", "beta"):
            raise ValueError(f"objective must be 'capacity' or 'beta'; got {self.objective!r}")
        for name in ("beta", "gamma", "c_max", "lr", "blob_width"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number; got {value}")
            if not value >= 0 or (name in ("lr", "blob_width") and value == 0):
                raise ValueError(
                    f"--{name.replace('_', '-')} must be "
                    f"{'> 0' if name in ('lr', 'blob_width') else '>= 0'}; got {value}"
                )
        for name in (
            "steps",
            "batch_size",
            "latent_dim",
            "factor_dims",
            "log_every",
            "save_every",
            "image_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be >= 1; got {getattr(self, name)}"
                )
        if self.eval_every < 0 or self.eval_every % self.log_every:
            raise ValueError(
                f"--eval-every must be 0 (off) or a multiple of --log-every {self.log_every} (its "
                f"metrics go into that step's metrics.jsonl record); got {self.eval_every}"
            )
        if self.probe_every < 0 or self.probe_every % self.log_every:
            raise ValueError(
                f"--probe-every must be 0 (off) or a multiple of --log-every {self.log_every} (its "
                f"numbers go into that step's metrics.jsonl record); got {self.probe_every}"
            )
        low, high = self.color_range
        if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low <= high <= 1.0):
            raise ValueError(f"--color-range must satisfy 0 <= LO <= HI <= 1; got {low} {high}")
        if self.c_steps < 0:
            raise ValueError(f"--c-steps must be >= 0; got {self.c_steps}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"--seed must be in [0, 2**63); got {self.seed}")
        for name, limit in LIMITS.items():
            if getattr(self, name) > limit:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be <= {limit:,}; got {getattr(self, name):,}"
                )
        self.check_resume_target()
        if self.data in FILE_DATASETS and not self.data_path:
            raise ValueError(
                f"--data {self.data} is read from its official files: add --data-path PATH "
                "(see docs/data.md)"
            )
        if self.data_path and self.data not in FILE_DATASETS:
            raise ValueError(
                f"--data-path applies to --data {' / '.join(FILE_DATASETS)}; --data {self.data} "
                "takes none"
            )
        if self.preset == "chairs" and self.data in ("", "dsprites"):
            raise ValueError(
                "preset 'chairs' needs --data PATH (an HDF5 file from "
                "`python -m betavae.data import-chairs`)"
            )


def checked_fields(values: dict, where: str = "config") -> dict:
    """``values`` as TrainConfig fields (JSON lists made tuples); ValueError naming any unknown
    or ill-typed field."""
    if not isinstance(values, dict):
        raise ValueError(f"a {where} must be a JSON object; got {type(values).__name__}")
    known = {f.name: f for f in fields(TrainConfig)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown {where} field(s) {unknown}")
    values = dict(values)
    if isinstance(values.get("color_range"), list):  # JSON has no tuples
        values["color_range"] = tuple(values["color_range"])
    for name, value in values.items():
        expected = _FIELD_TYPES[str(known[name].type)]
        allowed = (int, float) if expected is float else expected
        if expected is tuple:
            value = value if isinstance(value, tuple) and len(value) == 2 else None
            if value is None or not all(isinstance(v, (int, float)) for v in value):
                raise ValueError(f"{where} field {name!r} must be a pair of numbers")
            continue
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, allowed):
            raise ValueError(f"{where} field {name!r} must be {expected.__name__}; got {value!r}")
    return values


# Bounds that keep a typo from turning into an out-of-memory traceback minutes later.
LIMITS = {
    "batch_size": 16_384,
    "latent_dim": 1024,
    "factor_dims": 64,
    "steps": 10**9,
    # weights so large that the loss overflows float32 within a step (1e308 did)
    "gamma": 1_000_000,
    "beta": 1_000_000,
    "c_max": 10_000,
}
NAMED_DATASETS = tuple(GENERATED)  # generated here
FILE_DATASETS = tuple(OFFICIAL_FILES)  # named, read from --data-path
_FIELD_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple}

PRESETS: dict[str, dict] = {
    # The paper's dSprites recipe: gamma 1000, C 0 -> 25 nats over 100k steps, Adam 5e-4, batch 64.
    "dsprites": {},
    "dsprites-beta": dict(data="dsprites", objective="beta", beta=4.0, steps=100_000),
    "color-dsprites": dict(data="color-dsprites"),
    "blobs-vae": dict(data="blobs", objective="beta", beta=1.0, steps=20_000, image_every=5000),
    "blobs-beta": dict(data="blobs", objective="beta", beta=150.0, steps=20_000, image_every=5000),
    "chairs": dict(data=""),
    # Fig. 3: the dSprites factors through per-factor Gaussian channels into the Burgess decoder,
    # trained with the dSprites capacity schedule.
    "generator": dict(data="dsprites", model="generator"),
    # CPU demo (~4 min on 2 cores, ~2 with --amp): a short capacity schedule that already
    # separates x and y.
    # lr 1e-4: at 5e-4 and 1e-3 the decoder settles on the mean image and the posterior collapses
    # for thousands of steps (measured), too long for a demo.
    "quick": dict(
        data="dsprites",
        gamma=100.0,
        c_max=12.0,
        c_steps=4000,
        steps=5000,
        lr=1e-4,
        log_every=50,
        save_every=1000,
        image_every=1000,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m betavae.train",
        description="Train a β-VAE (Burgess et al. 2018 capacity objective by default). A preset "
        "sets every field; any flag given overrides it. Under torchrun, trains on every process "
        "with DistributedDataParallel.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    helps = _field_help()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            # --no-FLAG too: turns off what a preset or a --config file turned on
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=helps[f.name]
            )
        elif f.type in ("tuple", tuple):
            parser.add_argument(
                flag,
                type=float,
                nargs=2,
                default=None,
                metavar=("LO", "HI"),
                help=f"{helps[f.name]} (default: {f.default[0]:g} {f.default[1]:g})",
            )
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            parser.add_argument(
                flag,
                type=kind,
                default=None,
                metavar=f.name.upper(),
                help=f"{helps[f.name]} (default: {f.default!r})",
            )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a TOML or JSON object of these fields (a run's config.json is one), or a model file "
        "(.safetensors) whose recorded config to use; it overrides the preset and explicit flags "
        "override it; its out and resume are not used (a file is a recipe, not a run directory)",
    )
    parser.set_defaults(preset=None)
    return parser


def _field_help() -> dict[str, str]:
    """Help text of each field, from the comments in the dataclass source."""
    import inspect

    helps = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        stripped = line.strip()
        if ":" in stripped and "#" in stripped and not stripped.startswith(("#", '"')):
            name = stripped.split(":", 1)[0].strip()
            helps[name] = stripped.split("#", 1)[1].strip()
    return helps


def config_from(flags: dict) -> TrainConfig:
    """Preset values overridden by explicit flags."""
    preset = flags.get("preset", "dsprites")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    values = with_downloaded({**PRESETS[preset], **flags, "preset": preset})
    data = values.get("data", "")
    # a file is recorded by its absolute path, so a resumption finds the same file
    if data and data not in NAMED_DATASETS + FILE_DATASETS and Path(data).exists():
        values["data"] = str(Path(data).resolve())
    if values.get("data_path") and Path(values["data_path"]).exists():
        values["data_path"] = str(Path(values["data_path"]).resolve())
    config = TrainConfig(**values)
    if config.resume:  # the flags are checked against the checkpoint's config, not the preset's
        config.check_resume_target()  # (betavae.rundir.open_for_resume validates the merge)
    else:
        config.validate()
    return config


def with_downloaded(values: dict) -> dict:
    """``values`` with the downloaded files (``python -m betavae.data download``) filled in where
    a file dataset has no --data-path (and for chairs, no --data file)."""
    from .data.download import located, missing_hint

    data = values.get("data", "")
    if data == "chairs" or (values.get("preset") == "chairs" and data == ""):
        found = located("chairs")
        if found is None:
            raise ValueError(
                "preset 'chairs' needs --data PATH (an HDF5 file from `python -m betavae.data "
                f"import-chairs`), or the downloaded one: {missing_hint('chairs')}"
            )
        return {**values, "data": str(found)}
    if data in FILE_DATASETS and not values.get("data_path"):
        found = located(data)
        if found is None:
            raise ValueError(
                f"--data {data} is read from its official files: {missing_hint(data)}, or add "
                "--data-path PATH (see docs/data.md)"
            )
        return {**values, "data_path": str(found)}
    return values


def resumed_config(saved: dict, flags: dict, run_dir: str) -> TrainConfig:
    """The saved config of a run with the runtime flags the user gave for its continuation."""
    runtime = {k: v for k, v in flags.items() if k in RUNTIME_FIELDS - {"out", "resume"}}
    config = TrainConfig.from_dict({**saved, **runtime, "resume": run_dir, "out": run_dir})
    config.validate()
    return config


def same_model_fields(first: dict, second: dict) -> bool:
    """Two saved configs describe the same run (runtime fields such as ``steps`` or ``resume`` may
    differ: config.json is rewritten when a resumption starts, before its first checkpoint)."""

    def model_part(config: dict) -> dict:
        return {k: _plain(v) for k, v in config.items() if k not in RUNTIME_FIELDS}

    return model_part(first) == model_part(second)


def model_fields_differ(saved: dict, flags: dict) -> list[str]:
    """Explicit flags that contradict a saved config (runtime fields excepted)."""
    return [
        f"--{k.replace('_', '-')}={flags[k]!r} (checkpoint: {saved.get(k)!r})"
        for k in flags
        if k not in RUNTIME_FIELDS and k in saved and _plain(saved[k]) != _plain(flags[k])
    ]


def _plain(value):
    """A config value as JSON gives it back (tuples are lists there)."""
    return list(value) if isinstance(value, tuple) else value
