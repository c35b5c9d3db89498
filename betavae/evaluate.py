"""``python -m betavae.evaluate RUN_DIR``: load a run's checkpoint and dataset, compute the
disentanglement metrics, and write eval.json, report.md and pictures into ``RUN_DIR/eval/``.

    python -m betavae.evaluate runs/quick-20261129-120000
    python -m betavae.evaluate runs/quick-20261129-120000 --metrics mig dci --samples 5000
    python -m betavae.evaluate runs/quick-20261129-120000 --param mig.sampled=true

Every metric runs with disentanglement_lib's definitions and study sample counts unless told
otherwise; eval.json and the report record the convention and the parameters of each number.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from . import metrics, tensorboard_log, viz
from .atomic import atomic_write_text, current_umask
from .config import TrainConfig
from .config_file import merged_options
from .data import OFFICIAL_FILES, GroundTruthData, get_dataset
from .data.download import located
from .devices import resolve_device
from .model_io import images_at, make_encoder, per_latent_kl
from .models import BurgessVAE
from .rundir import RunDir
from .trained import load_trained

ACTIVE_KL = 0.1  # nats: a latent below this carries (almost) no information
MAX_SAMPLES = 1_000_000  # --samples above this would take hours and tens of GB


def image_model(path: Path, config: TrainConfig, model: torch.nn.Module) -> torch.nn.Module:
    """``model`` ready for the metrics (channels-last); ValueError for a model without an image
    encoder (the factor-conditioned generator)."""
    if config.model != "burgess":
        raise ValueError(
            f"{path}: a {config.model!r} run has no image encoder to evaluate; its "
            "analysis is `python -m betavae.reproduce generator`"
        )
    return model.to(memory_format=torch.channels_last)


@torch.no_grad()
def latent_kl(vae: BurgessVAE, data: GroundTruthData, device, n: int, seed: int) -> np.ndarray:
    """Mean KL of each latent over ``n`` random images."""
    idx = torch.from_numpy(np.random.default_rng(seed).integers(0, len(data), n))
    total = torch.zeros(vae.latent_dim, dtype=torch.float64)
    for chunk in idx.split(256):
        mu, logvar = vae.encode(images_at(data, chunk).to(device))
        total += per_latent_kl(mu, logvar).sum(0).double().cpu()
    return (total / n).numpy()


def factor_assignment(mi: np.ndarray, h: np.ndarray, names: list[str], kl: np.ndarray) -> list:
    """Per latent: the factor it captures most (MI normalised by the factor's entropy)."""
    normalised = mi / np.where(h > 0, h, 1.0)[None, :]
    rows = []
    for j in range(len(kl)):
        k = int(np.argmax(normalised[j]))
        if kl[j] < ACTIVE_KL:
            rows.append((j, float(kl[j]), "inactive", 0.0))
        else:
            rows.append((j, float(kl[j]), names[k], float(normalised[j, k])))
    return rows


def metric_parameters(names: list[str], samples: int | None, overrides: list[str]) -> dict:
    """Per metric, the parameters it runs with: disentanglement_lib's study defaults; ``samples``
    sets every training count to N and every held-out count to N/2; ``overrides`` are
    ``metric.param=value`` strings (a value parsed as the default's type)."""
    chosen: dict[str, dict] = {name: {} for name in names}
    if samples is not None:
        if samples < 10:
            raise ValueError(f"--samples must be >= 10; got {samples}")
        if samples > MAX_SAMPLES:
            raise ValueError(f"--samples must be <= {MAX_SAMPLES:,}; got {samples:,}")
        for name in names:
            for key in metrics.parameters(name):
                if key in ("num_train", "num_variance_estimate"):
                    chosen[name][key] = samples
                elif key in ("num_eval", "num_test"):
                    chosen[name][key] = max(samples // 2, 5)
    for text in overrides:
        target, sep, value = text.partition("=")
        name, dot, key = target.partition(".")
        if not sep or not dot or name not in metrics.METRIC_NAMES:
            raise ValueError(
                f"--param {text!r}: expected METRIC.PARAM=VALUE with METRIC one of "
                f"{list(metrics.METRIC_NAMES)}"
            )
        defaults = metrics.parameters(name)
        if key not in defaults:
            raise ValueError(f"--param {text!r}: metric {name!r} takes {sorted(defaults)}")
        chosen.setdefault(name, {})[key] = _parse_like(defaults[key], value, text)
    resolved = {}
    for name in names:
        try:
            resolved[name] = metrics.parameters(name, **chosen[name])
            metrics.check_parameters(name, resolved[name])
        except ValueError as exc:
            raise ValueError(f"--param / --samples for {name}: {exc}") from None
    return resolved


def _parse_like(default, value: str, text: str):
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        return type(default)(value)
    except ValueError:
        raise ValueError(f"--param {text!r}: {value!r} is not a {type(default).__name__}") from None


def draws(name: str, params: dict) -> int:
    """How many images a metric encodes with these parameters."""
    points = params.get("num_train", 0) + params.get("num_eval", params.get("num_test", 0))
    if name == "beta_vae":
        return points * 2 * params["batch_size"]
    if name == "factor_vae":
        return points * params["batch_size"] + params["num_variance_estimate"]
    return points


def write_report(path: Path, run_dir: Path, data, step, results: dict, rows, note: str) -> None:
    lines = [
        f"# Evaluation of `{run_dir}`",
        "",
        f"Dataset `{data.name}` ({len(data)} images), checkpoint at step {step}.",
        "",
    ]
    if note:
        lines += [note, ""]
    if results:
        lines += ["| metric | score | details | convention | parameters |", "|---|---|---|---|---|"]
        for name, result in results.items():
            keys = metrics.SCORE_KEYS[name]
            score = ", ".join(f"{k} {result[k]:.3f}" for k in keys) if len(keys) > 1 else None
            extra = ", ".join(
                f"{k} {v:.3f}" for k, v in result.items() if k not in keys and isinstance(v, float)
            )
            params = ", ".join(f"{k}={v}" for k, v in result["params"].items())
            lines.append(
                f"| {name} | {score or f'{result[name]:.3f}'} | {extra} | "
                f"{result['convention']} | {params} |"
            )
        lines += [
            "",
            "Conventions: `disentanglement_lib` = the definitions and study sample counts of "
            "google-research/disentanglement_lib (Locatello et al. 2019), the source of most "
            "published numbers; a `variant` names the estimator options that differ.",
            "",
        ]
    lines += ["| latent | KL (nats) | captures | normalised MI |", "|---|---|---|---|"]
    for j, kl, factor, score in sorted(rows, key=lambda r: -r[1]):
        lines.append(f"| z{j} | {kl:.2f} | {factor} | {score:.2f} |")
    lines += [
        "",
        "Pictures: `traversals.png`, `traversals.gif`, `reconstructions.png`, "
        "`kl_curves.png`" + (", `mutual_information.png`" if results else "") + ".",
    ]
    path.write_text("\n".join(lines) + "\n")


def evaluate(
    run_dir: Path,
    names: list[str],
    samples: int | None = None,
    seed: int = 0,
    device: str = "auto",
    overrides: list[str] = (),
    data_name: str | None = None,
    data_path: str | None = None,
) -> Path:
    unknown = [n for n in names if n not in metrics.METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(metrics.METRIC_NAMES)}")
    params = metric_parameters(names, samples, list(overrides))
    if not 0 <= seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32); got {seed}")
    dev = resolve_device(device)
    data = None
    if data_name is not None:
        if data_name in OFFICIAL_FILES and not data_path:
            data_path = located(data_name)  # downloaded with python -m betavae.data download
        data = get_dataset(data_name, path=data_path if data_name in OFFICIAL_FILES else None)
    checked_log(run_dir)  # before anything is computed
    config, vae, data, step = load_trained(run_dir, dev, data, data_path=data_path)
    vae = image_model(run_dir, config, vae)
    out = eval_dir(run_dir)
    fresh = Path(tempfile.mkdtemp(prefix=".eval-", dir=out.parent))
    try:
        _evaluate_into(fresh, run_dir, vae, data, step, names, params, samples, seed, dev)
        fresh.chmod(0o777 & ~current_umask())
        _swap_in(fresh, out)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)  # a failed evaluation leaves nothing behind
    return out


def checked_log(run_dir: Path) -> list[dict]:
    """A run directory's metrics.jsonl records, each checked to hold what the KL curves read
    (finite numbers of the right type); ValueError naming the file and the record otherwise. A
    model file has no log: []."""
    if not run_dir.is_dir():
        return []
    records = RunDir(run_dir).read_metrics()
    for record in records:
        per_latent = record.get("kl_per_latent")
        values = [record.get("capacity", 0.0), record.get("kl"), *(per_latent or [])]
        if (
            not isinstance(per_latent, list)
            or len(per_latent) != len(records[0].get("kl_per_latent") or [])
            or not all(_finite_number(v) for v in values)
        ):
            raise ValueError(
                f"{RunDir(run_dir).metrics_path}: the record of step {record['step']} does not "
                "hold finite numbers in 'kl', 'kl_per_latent' and 'capacity' (damaged log)"
            )
    return records


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def eval_dir(path: Path) -> Path:
    """Where the evaluation of a run directory or model file goes: ``RUN_DIR/eval/``, or
    ``STEM/eval/`` beside a model file ``STEM.safetensors`` (created). A model file named after a
    run directory beside it would write into that run's evaluation: refused."""
    if path.is_dir():
        return path / "eval"
    home = path.parent / path.stem
    if (home / "checkpoint.pt").exists() or (home / "config.json").exists():
        raise ValueError(
            f"{path}: its evaluation would go to {home / 'eval'}, which belongs to the run "
            f"directory {home}; evaluate that run, or rename the model file"
        )
    try:
        home.mkdir(exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{home}: cannot create the evaluation's directory ({exc})") from exc
    return home / "eval"


def _swap_in(fresh: Path, out: Path) -> None:
    """Replace ``out`` by the complete evaluation in ``fresh``: the old one is moved aside first
    and deleted after, so no stale figure survives beside new numbers."""
    old = out.with_name(f".{out.name}-old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    fresh.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _evaluate_into(out, run_dir, vae, data, step, names, params, samples, seed, dev) -> Path:
    """Compute and write everything into ``out`` (see :func:`evaluate`)."""
    out.mkdir(parents=True, exist_ok=True)
    encode = make_encoder(vae, dev, data.images.max_value)
    kl = latent_kl(vae, data, dev, min(samples or 10_000, 4096), seed)
    results, note, rows = {}, "", [(j, float(kl[j]), "-", 0.0) for j in range(len(kl))]
    if data.has_factors:
        source = encode
        if sum(draws(name, params[name]) for name in names) > len(data) // 2:
            start = time.perf_counter()
            source = metrics.CodeTable(encode, data)  # encode each image once, not ~4 times
            print(f"encoded all {len(data)} images ({time.perf_counter() - start:.1f} s)")
        for name in names:
            start = time.perf_counter()
            result = metrics.compute(name, source, data, seed=seed, **params[name])
            seconds = time.perf_counter() - start
            headline = ", ".join(f"{k} {result[k]:.4f}" for k in metrics.SCORE_KEYS[name])
            print(f"{name}: {headline} ({seconds:.1f} s)")
            results[name] = {
                **result,
                "convention": metrics.convention(name, params[name]),
                "params": params[name],
            }
        # The report and heat map use MIG's latent x factor MI (posterior means, 20 bins).
        mig = results.get("mig") or metrics.compute(
            "mig", source, data, seed=seed, **metrics.parameters("mig")
        )
        mi = np.array(mig["mutual_information"])
        rows = factor_assignment(mi, np.array(mig["factor_entropy"]), mig["factor_names"], kl)
        viz.mi_heatmap_png(mi, mig["factor_names"], out / "mutual_information.png")
    else:
        note = (
            f"Dataset `{data.name}` has no ground-truth factors, so no disentanglement metric "
            "can be computed; the pictures below still show what each latent does."
        )
        print(note)
    idx = torch.arange(0, len(data), max(1, len(data) // 8))[:8]
    images = images_at(data, idx).to(dev)
    viz.save_png(
        viz.to_uint8_grid(viz.reconstructions(vae, images), nrow=8), out / "reconstructions.png"
    )
    viz.traversal_png(vae, images[:1], kl.tolist(), out / "traversals.png")
    viz.traversal_gif(vae, images[:1], kl.tolist(), out / "traversals.gif")
    records = checked_log(run_dir)
    if records:
        viz.kl_curves_png(records, out / "kl_curves.png")
    summary = {
        "run": str(run_dir),
        "dataset": data.name,
        "step": step,
        "seed": seed,
        "samples": samples,
        "convention": metrics.CONVENTION,
        "kl_per_latent": kl.round(6).tolist(),
        **results,
    }
    if note:
        summary["note"] = note
    atomic_write_text(out / "eval.json", json.dumps(summary, indent=2) + "\n")
    write_report(out / "report.md", run_dir, data, step, results, rows, note)
    return out


def export_tensorboard(run_dir: Path) -> int:
    """``--tensorboard``: metrics.jsonl of a run directory as TensorBoard scalars."""
    run = RunDir(run_dir)
    try:
        if not run.metrics_path.is_file():
            raise ValueError(f"{run_dir}: no metrics.jsonl (not a run directory?)")
        out = tensorboard_log.export(run_dir, run.read_metrics())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote TensorBoard events to {out} (tensorboard --logdir {out})")
    return 0


OPTION_TYPES = {  # what a --config FILE may set
    "metrics": list,
    "samples": int,
    "param": list,
    "seed": int,
    "device": str,
    "data": str,
    "data_path": str,
}
OPTION_DEFAULTS = {
    "metrics": list(metrics.METRIC_NAMES),
    "samples": None,
    "param": [],
    "seed": 0,
    "device": "auto",
    "data": None,
    "data_path": None,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m betavae.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "run_dir",
        type=Path,
        help="a run directory written by betavae.train, a snapshot directory, or a model file "
        "(.safetensors, e.g. docs/reproduction/models/)",
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        help=f"metrics to compute (default: all of {list(metrics.METRIC_NAMES)})",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="set every metric's training count to N and its held-out count to N/2 (default: "
        "disentanglement_lib's study counts, 10000 training and 5000 held-out points)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=None,
        metavar="METRIC.PARAM=VALUE",
        help="change one metric parameter, e.g. mig.sampled=true, dci.classifier=forest, "
        "factor_vae.prune_on=variance, beta_vae.standardize=true (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=None, help="(default: 0)")
    parser.add_argument("--device", default=None, help="(default: auto)")
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a TOML or JSON object of these options (metrics: list, samples, param: list of "
        "METRIC.PARAM=VALUE, seed, device, data, data_path); flags given override it",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="the dataset to evaluate on (default: the one the model trained on; it must have "
        "the same name, this loads it from elsewhere)",
    )
    parser.add_argument(
        "--data-path",
        default=None,
        help="where the official files of a shapes3d/mpi3d/smallnorb/cars3d run are now",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="only export the run's metrics.jsonl as TensorBoard events into RUN/tensorboard/ "
        '(needs pip install ".[tensorboard]"), computing no metric',
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.tensorboard:
        return export_tensorboard(args.run_dir)
    try:
        options = merged_options(args.config, vars(args), OPTION_TYPES, OPTION_DEFAULTS)
        out = evaluate(
            args.run_dir,
            options["metrics"],
            options["samples"],
            options["seed"],
            options["device"],
            options["param"],
            data_name=options["data"],
            data_path=options["data_path"],
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only or full disk: nothing half-written is left (fresh dir)
        print(f"error: cannot write the evaluation of {args.run_dir}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out / 'eval.json'} and {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
