"""The run directory: the contract between training, evaluation and reproduction.

    RUN_DIR/config.json      the run's TrainConfig (atomic)
    RUN_DIR/metrics.jsonl    one JSON object per logged step, in step order, each step once
    RUN_DIR/checkpoint.pt    model, optimiser, sampler state, step, config, dataset fingerprint
    RUN_DIR/summary.json     how the last training session ended
    RUN_DIR/snapshots/step-NNNNNNN/checkpoint.pt   copies kept part-way through training
    RUN_DIR/.lock            held (an OS lock) by the one process that trains in the directory

``RunDir`` owns these files (betavae.trained turns a run directory, a snapshot directory or a
model file back into a model). Everything that reads or writes a run goes through here, so
train, evaluate and reproduce agree on one format. The files other commands write beside them
(``eval/`` by evaluate, ``images/`` by the trainer's pictures, ``provenance.json`` by reproduce)
are theirs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from .atomic import atomic_path, atomic_write_text, stale_temporaries
from .config import TrainConfig, model_fields_differ, resumed_config, same_model_fields
from .data import GroundTruthData

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"
LOCK_NAME = ".lock"
SNAPSHOTS = "snapshots"


class RunDirError(ValueError):
    """A run directory (or one of its files) that cannot be used; the message names the file."""


class RunDir:
    """One run directory and its files (see the module docstring)."""

    def __init__(self, path: os.PathLike | str) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_NAME

    @property
    def checkpoint_path(self) -> Path:
        return self.path / checkpoint.CHECKPOINT_NAME

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    # -- the lock -------------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the directory's lock (an OS lock that ends with the process); RunDirError naming
        the holder's PID when another process trains here."""
        if self._lock_fd is not None:
            return
        path = self.path / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunDirError(
                f"{path}: cannot create the run's lock file ({exc.strerror})"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunDirError(
                f"{self.path} is in use by another training (process {holder}); wait for it to "
                "end or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def stale_temporaries(self) -> list[Path]:
        """Temporary files of this directory's own files that a killed writer left behind."""
        stale = []
        for name in (checkpoint.CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME, SUMMARY_NAME):
            stale += stale_temporaries(self.path, name)
        return stale

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete temporary files that a process killed mid-write left behind (call with the lock
        held: then no live writer owns them)."""
        stale = self.stale_temporaries()
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    # -- config.json and summary.json -----------------------------------------------------------

    def write_config(self, config: TrainConfig | dict) -> None:
        values = config if isinstance(config, dict) else config.to_dict()
        self._write_json(self.config_path, values)

    def read_config(self) -> dict:
        """config.json as a dict; RunDirError when missing, not JSON or not an object."""
        values = _read_json(self.config_path)
        if not isinstance(values, dict):
            raise RunDirError(
                f"{self.config_path}: holds a JSON {type(values).__name__}, not a config object"
            )
        return values

    def write_summary(self, summary: dict) -> None:
        self._write_json(self.path / SUMMARY_NAME, summary)

    def _write_json(self, path: Path, values: dict) -> None:
        try:
            atomic_write_text(path, json.dumps(values, indent=2) + "\n")
        except OSError as exc:
            raise RunDirError(f"{path}: cannot write ({exc.strerror or exc})") from exc

    # -- metrics.jsonl --------------------------------------------------------------------------

    def append_metrics(self, record: dict) -> None:
        """Append one record (a whole line per write; a failure names the file)."""
        try:
            with open(self.metrics_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise RunDirError(f"{self.metrics_path}: cannot write ({exc.strerror or exc})") from exc

    def read_metrics(self) -> list[dict]:
        """The logged records in step order (a record logged twice keeps its last copy). A torn
        last line (a crash mid-write) is skipped; any other bad line is a RunDirError naming the
        file and line."""
        records, _ = _parse_metrics(self.metrics_path)
        by_step = {r["step"]: r for r in records}
        return [by_step[s] for s in sorted(by_step)]

    def cut_metrics(self, step: int) -> str | None:
        """Keep the records up to ``step`` (the checkpoint's) so a resumed run logs each step once;
        drop a torn last line. Returns a note of what was dropped, or None."""
        if not self.metrics_path.exists():
            return None
        records, torn = _parse_metrics(self.metrics_path)
        kept = [r for r in records if r["step"] <= step]
        if len(kept) == len(records) and not torn:
            return None
        try:
            atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))
        except OSError as exc:
            raise RunDirError(f"{self.metrics_path}: cannot rewrite ({exc.strerror})") from exc
        notes = []
        if torn:
            notes.append("a torn last line (a crash while it was written)")
        if len(kept) != len(records):
            notes.append(f"{len(records) - len(kept)} record(s) after step {step}")
        return f"{self.metrics_path}: dropped " + " and ".join(notes)

    # -- checkpoints and snapshots --------------------------------------------------------------

    def save_checkpoint(self, state: dict) -> Path:
        return checkpoint.save(self.path, state)

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict:
        return checkpoint.load(self.path, map_location)

    def snapshot_dir(self, step: int) -> Path:
        """Where the copy of the checkpoint of step ``step`` is kept (betavae.trained reads it)."""
        return self.path / SNAPSHOTS / f"step-{step:07d}"

    def snapshots(self) -> list[Path]:
        """Snapshot directories that hold a checkpoint, in step order."""
        folder = self.path / SNAPSHOTS
        return sorted(
            p for p in folder.glob("step-*") if (p / checkpoint.CHECKPOINT_NAME).is_file()
        )

    def keep_snapshot(self, step: int) -> Path:
        """Copy the current checkpoint (which must be at ``step``) to its snapshot directory."""
        target = self.snapshot_dir(step) / checkpoint.CHECKPOINT_NAME
        with atomic_path(target) as tmp:
            shutil.copyfile(self.checkpoint_path, tmp)
        return target.parent


def _read_json(path: Path):
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunDirError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from None


def _parse_metrics(path: Path) -> tuple[list[dict], bool]:
    """(records, whether a torn last line was skipped) of a metrics.jsonl file."""
    if not path.exists():
        return [], False
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read ({exc})") from exc
    lines = text.split("\n")
    complete = text.endswith("\n")
    records, torn = [], False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        last = number == len(lines)  # only an unterminated final line can be torn
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if last and not complete:
                torn = True
                continue
            raise RunDirError(f"{path}, line {number}: not valid JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            raise RunDirError(f"{path}, line {number}: not a record with an integer 'step'")
        records.append(record)
    return records, torn


# -- the dataset a run trained on -----------------------------------------------------------------


def dataset_fingerprint(data: GroundTruthData) -> dict:
    """Name, image shape and a SHA-256 of the stored images (and colours, noise seed) of ``data``:
    a resumed run must train on the same bytes."""
    store = data.images
    digest = hashlib.sha256()
    for tensor in (store.packed, store.raw, store.colors):
        if tensor is not None:
            digest.update(np.ascontiguousarray(tensor.cpu().numpy()).data)
    if store.noise_seed is not None:
        digest.update(f"noise_seed={store.noise_seed}".encode())
    return {"name": data.name, "shape": list(store.shape), "sha256": digest.hexdigest()}


def check_same_dataset(saved: dict | None, now: dict, where: Path) -> None:
    """RunDirError when fingerprint ``now`` is not the one the checkpoint holds (``saved``)."""
    if saved is None:
        print(
            f"warning: {where} predates dataset fingerprints; cannot check that the data is the "
            "one it trained on",
            file=sys.stderr,
        )
        return
    if now != saved:
        differs = [k for k in ("name", "shape", "sha256") if now.get(k) != saved.get(k)]
        raise RunDirError(
            f"{where}: the dataset differs from the one this run trained on ({', '.join(differs)}: "
            f"checkpoint {[saved.get(k) for k in differs]}, now {[now[k] for k in differs]}); "
            "resume with the original data"
        )


# -- starting and resuming a training in a run directory ---------------------------------------


def open_for_resume(run_dir: RunDir, flags: dict, lock: bool) -> tuple[TrainConfig, dict]:
    """(the resumed config, the checkpoint) of ``run_dir``, after checking that the flags, the
    directory's config.json and the checkpoint agree. Rank 0 takes the directory's lock. Nothing
    on disk changes here: the trainer cuts metrics.jsonl back to the checkpoint's step only once
    every check of the start has passed (betavae.train_setup)."""
    if not run_dir.has_checkpoint():
        raise RunDirError(
            f"{run_dir.path}: no {checkpoint.CHECKPOINT_NAME} (not a betavae run directory?)"
        )
    if lock:
        run_dir.lock()
        for path in run_dir.remove_stale_temporaries():
            print(f"removed {path} (left by a process killed while saving)", file=sys.stderr)
    state = run_dir.load_checkpoint()
    check_state(state, run_dir.checkpoint_path)
    saved = config_of(state, run_dir.checkpoint_path).to_dict()
    if run_dir.config_path.exists():
        try:
            on_disk = run_dir.read_config()
        except RunDirError as exc:
            print(f"warning: {exc}; using the checkpoint's config", file=sys.stderr)
        else:
            # through TrainConfig, so fields added since the run started take their defaults
            try:
                on_disk = TrainConfig.from_dict(on_disk).to_dict()
            except (TypeError, ValueError) as exc:
                raise RunDirError(f"{run_dir.config_path}: {exc}") from None
            if not same_model_fields(on_disk, saved):
                raise RunDirError(
                    f"{run_dir.path}: checkpoint.pt and config.json disagree (another run's "
                    "checkpoint?)"
                )
    conflicts = model_fields_differ(saved, flags)
    if conflicts:
        raise ValueError("cannot resume with a different config: " + ", ".join(conflicts))
    config = resumed_config(saved, flags, str(run_dir.path))
    if state["step"] >= config.steps:
        raise ValueError(
            f"{run_dir.path}: already at step {state['step']} of {config.steps}; "
            "pass a larger --steps to continue"
        )
    threads = state.get("threads")
    if threads is not None and threads != torch.get_num_threads():
        print(
            f"warning: {run_dir.path} was trained with {threads} CPU thread(s) and resumes with "
            f"{torch.get_num_threads()}: PyTorch's convolutions may round differently, so the "
            "continuation is exact only under the same thread count (set OMP_NUM_THREADS)",
            file=sys.stderr,
        )
    return config, state


def check_state(state: dict, where: Path) -> None:
    """RunDirError naming ``where`` when a checkpoint's values are out of range (a damaged or
    hand-edited file): checked before a resume changes anything on disk."""
    step = state.get("step")
    problems = []
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        problems.append(f"step {step!r} is not a count of steps")
    for key in ("model", "optimizer"):
        if not isinstance(state.get(key), dict) or not state.get(key):
            problems.append(f"'{key}' is missing or empty")
    samplers = state.get("sampler_states")
    if not isinstance(samplers, list) or not samplers:
        problems.append("'sampler_states' is missing or empty")
    threads = state.get("threads")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        problems.append(f"threads {threads!r} is not a thread count")
    model = state.get("model") if isinstance(state.get("model"), dict) else {}
    bad = [k for k, v in model.items() if torch.is_tensor(v) and not bool(v.isfinite().all())]
    if bad:  # the trainer never saves one: the file was damaged or edited after
        problems.append(f"non-finite values in {', '.join(bad[:3])}")
    if problems:
        raise RunDirError(f"{where}: damaged checkpoint ({'; '.join(problems)})")


def open_new(run_dir: RunDir) -> bool:
    """Create (or reuse an empty) run directory and lock it; True when it was created here. A
    directory holding anything but what a betavae start that never saved leaves (the lock, its
    config.json, its log) is refused, naming what is there: nothing a user owns is replaced."""
    created = not run_dir.path.exists()
    if not created:
        _check_reusable(run_dir)
    try:
        run_dir.path.mkdir(parents=True, exist_ok=True)
        probe = run_dir.path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        if created:
            undo_start(run_dir, True)
        raise ValueError(f"--out {run_dir.path}: directory is not writable ({exc})") from exc
    run_dir.lock()
    if run_dir.has_checkpoint():  # another process saved one since the check above
        run_dir.unlock()
        raise ValueError(
            f"{run_dir.path} already holds a run; pass --resume {run_dir.path} to continue it "
            "or choose another --out"
        )
    run_dir.remove_stale_temporaries()
    # Without a checkpoint, a log left here belongs to a start that never saved: begin afresh.
    run_dir.metrics_path.unlink(missing_ok=True)
    return created


def _check_reusable(run_dir: RunDir) -> None:
    """ValueError unless ``run_dir`` is a directory that a new run may take over."""
    path = run_dir.path
    if not path.is_dir():
        raise ValueError(f"--out {path}: exists and is not a directory")
    if run_dir.has_checkpoint():
        raise ValueError(
            f"{path} already holds a run; pass --resume {path} to continue it or choose another "
            "--out"
        )
    foreign = sorted(p.name for p in path.iterdir() if not _left_by_a_start(run_dir, p))
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise ValueError(
            f"--out {path}: not empty and not a betavae run directory (holds {shown}); a new run "
            "needs a missing or empty directory"
        )


def _left_by_a_start(run_dir: RunDir, entry: Path) -> bool:
    """Whether ``entry`` is what a betavae start that never saved a checkpoint leaves: the lock,
    a stale temporary, a config.json that is a TrainConfig, a metrics.jsonl of log records."""
    if entry.name == LOCK_NAME or entry in run_dir.stale_temporaries():
        return entry.is_file()
    try:
        if entry == run_dir.config_path:
            TrainConfig.from_dict(run_dir.read_config())
            return True
        if entry == run_dir.metrics_path:
            _parse_metrics(entry)  # raises unless every complete line is a log record
            return True
    except (RunDirError, ValueError, TypeError, OSError):
        return False
    return False


def undo_start(run_dir: RunDir, created: bool) -> None:
    """After a failed start: release the lock and remove what this start created."""
    run_dir.unlock()
    if created and run_dir.path.is_dir() and not run_dir.has_checkpoint():
        shutil.rmtree(run_dir.path, ignore_errors=True)


def config_of(state: dict, where: Path) -> TrainConfig:
    """The TrainConfig saved in a checkpoint; RunDirError when it does not fit this version."""
    try:
        return TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError) as exc:
        raise RunDirError(f"{where}: the checkpoint's config does not fit ({exc})") from exc
