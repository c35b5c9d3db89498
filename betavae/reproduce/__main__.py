"""``python -m betavae.reproduce EXPERIMENT [--budget cpu|paper] [--seeds N] [--out DIR]``: run an
experiment's trainings (a second call continues unfinished runs from their checkpoints, so a long
budget can be split over sittings), then its analysis, and write ``DIR/report.md`` with its
figures in ``DIR/figures/``. Each experiment's section is kept in ``DIR/sections/`` and the
report holds every section present, so experiments can be run one at a time into one report.
``all`` runs every experiment (chairs only with ``--data``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..amp import amp_problem
from ..atomic import atomic_write_text
from ..devices import resolve_device
from ..rundir import RunDir
from ..train import NonFiniteLoss
from . import BUDGETS, DEFAULT_SEEDS, EXPERIMENTS, MAX_SEEDS
from .parallel import Sitting, command_lines, threads_per_run, train_concurrently
from .records import commit
from .runner import Run, execute, run_state

SCHEDULE_KEYS = ("steps", "c_steps", "batch_size")


def schedule_lines(name: str, budget: str, seeds: int) -> list[str]:
    schedule = EXPERIMENTS[name].schedules[budget]
    parts = ", ".join(f"{k} {schedule[k]:,}" for k in SCHEDULE_KEYS if k in schedule)
    return [f"Schedule (`--budget {budget}`): {parts}; {seeds} seed(s).", ""]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m betavae.reproduce",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("experiment", choices=[*EXPERIMENTS, "all"])
    parser.add_argument(
        "--budget",
        choices=BUDGETS,
        default="cpu",
        help="paper: the paper's schedules (150,000 dSprites steps: about an hour on 2 CPU cores "
        "with --amp); cpu: shortened schedules, named as such in the report; smoke: a few steps, "
        "for tests",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per model (default: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_SEEDS.items())
        + ")",
    )
    parser.add_argument("--out", type=Path, default=Path("reproduction"), help="report directory")
    parser.add_argument(
        "--runs", type=Path, default=None, help="run directories (default: OUT/runs)"
    )
    parser.add_argument("--data", default=None, help="the imported 3D Chairs HDF5 file (chairs)")
    parser.add_argument(
        "--analyse-only", action="store_true", help="rebuild the report from existing runs"
    )
    parser.add_argument(
        "--follow-up",
        action="store_true",
        help="dsprites: also train the decision rule's follow-up runs when the rule applies to "
        "the recorded capacity-seed0 (that model continued to twice its steps, and the annealed "
        "setting, lr 1e-4)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="RUN",
        default=None,
        help="train only these runs of the plan (e.g. capacity-seed1), in the plan's order; the "
        "section is still built from every finished or recorded run",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="train up to N runs of the plan at once, each in its own process with 1/N of the "
        "cores (threads recorded in its checkpoints); default 1. Two one-thread runs do about "
        "1.2x the work of one two-thread run on a 2-core CPU",
    )
    parser.add_argument(
        "--list-commands",
        action="store_true",
        help="print one self-contained, resumable command per planned run (for a cluster "
        "scheduler: a SLURM array, a job queue) and exit; with --jobs N each line sets "
        "OMP_NUM_THREADS for N runs per machine. Their records meet in one report: "
        "--analyse-only",
    )
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="train (and keep the records of) the runs, without the analysis and the report: "
        "what each --list-commands line does",
    )
    parser.add_argument(
        "--amp",
        action="store_true",
        help="train with bf16 autocast (as `python -m betavae.train --amp`; refused on a CPU "
        "without native bf16)",
    )
    return parser


def reproduce(
    names: list[str],
    budget: str,
    seeds: int | None,
    out: Path,
    runs_dir: Path | None = None,
    data: str | None = None,
    analyse_only: bool = False,
    amp: bool = False,
    follow_up: bool = False,
    only: list[str] | None = None,
    *,
    jobs: int = 1,
    train_only: bool = False,
) -> Path | None:
    """Train (or continue) and analyse ``names``; returns the report's path (None with
    ``train_only``, which skips the analysis). ``only``: train just these runs of the plan (the
    others are neither started nor continued); ``jobs``: runs trained at once, each in its own
    process (betavae.reproduce.parallel)."""
    check_request(budget, seeds, amp, follow_up, names, jobs)
    code = commit()  # the code this process imported, noted in every run it trains
    plans = plan(names, budget, seeds, out, data, follow_up, only)
    if not train_only:
        (out / "sections").mkdir(parents=True, exist_ok=True)  # only once every check passed
    runs_root = runs_dir or out / "runs"  # runs_dir itself goes into per-run commands
    for name, runs in plans.items():
        start = time.perf_counter()
        experiment = EXPERIMENTS[name]
        folder = runs_root / name
        dirs, unfinished = [], []
        if not analyse_only:
            chosen = _chosen(runs, only)
            if jobs > 1:
                sitting = Sitting(
                    name,
                    budget,
                    seeds or experiment.default_seeds,
                    out,
                    runs_dir,
                    data,
                    amp,
                    follow_up,
                )
                failed = train_in_processes(experiment, sitting, chosen, out, jobs)
                if failed:
                    raise ValueError(
                        f"the process of {', '.join(failed)} failed (its output is above); "
                        "the other runs trained, no section was written"
                    )
            else:
                dirs = train_plan(experiment, chosen, folder, out, budget, amp, code)
        if train_only:
            continue
        if analyse_only or only is not None or jobs > 1:  # the section holds every finished run
            dirs, unfinished = finished_runs(runs, folder, _recorded(experiment, out, budget))
            if analyse_only and not dirs and len(unfinished) == len(runs):
                raise ValueError(
                    f"--analyse-only: no finished run in {[str(u) for u, _ in unfinished]}"
                )
        settings = dict(seeds=seeds or experiment.default_seeds, follow_up=follow_up, amp=amp)
        write_section(experiment, dirs, unfinished, out, runs_root, budget, code, settings)
        print(f"{name}: done in {time.perf_counter() - start:.0f} s", flush=True)
    return None if train_only else assemble(out)


def check_request(budget, seeds, amp, follow_up, names, jobs) -> None:
    """Refuse a request before anything is planned or written."""
    if seeds is not None and seeds < 1:
        raise ValueError(f"--seeds must be >= 1; got {seeds}")
    if seeds is not None and seeds > MAX_SEEDS:  # before a plan of that many runs is built
        raise ValueError(f"--seeds must be <= {MAX_SEEDS} (runs per model); got {seeds:,}")
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1; got {jobs}")
    if amp:
        problem = amp_problem(resolve_device("auto"))
        if problem is not None:
            raise ValueError(problem)
    if follow_up and not any(EXPERIMENTS[n].follow_ups for n in names):
        raise ValueError(f"--follow-up: {', '.join(names)} has no decision rule (dsprites has)")


def train_in_processes(experiment, sitting: Sitting, runs: list[Run], out: Path, jobs: int):
    """``--jobs N``: the runs not kept as records, N at a time in processes of their own; the
    names of those whose process failed."""
    todo = _unrecorded(experiment, runs, out, sitting.budget, "not trained again", _say)
    return train_concurrently(sitting, todo, jobs, log=_say)


def list_commands(names, budget, seeds, out, runs_dir, data, amp, follow_up, only, jobs):
    """``--list-commands``: one line per planned run (``only``: of these runs) that an earlier
    sitting has not kept as a record; the recorded ones are named on stderr."""
    check_request(budget, seeds, amp, follow_up, names, jobs)
    plans = plan(names, budget, seeds, out, data, follow_up, only, log=_to_stderr)
    threads = threads_per_run(jobs) if jobs > 1 else None
    for name, runs in plans.items():
        seeds_of = seeds or EXPERIMENTS[name].default_seeds
        sitting = Sitting(name, budget, seeds_of, out, runs_dir, data, amp, follow_up)
        chosen = _chosen(runs, only)
        chosen = _unrecorded(EXPERIMENTS[name], chosen, out, budget, "not listed", _to_stderr)
        for line in command_lines(sitting, chosen, threads):
            print(line)


def _chosen(runs: list[Run], only: list[str] | None) -> list[Run]:
    """The runs of a plan that ``--only`` names (all of them without it), in the plan's order."""
    return runs if only is None else [run for run in runs if run.name in only]


def _unrecorded(experiment, runs: list[Run], out: Path, budget: str, why: str, say) -> list[Run]:
    """``runs`` less those an earlier sitting kept as records, each of which is named with
    ``why`` (what is not done with it)."""
    recorded = _recorded(experiment, out, budget)
    if recorded is None:
        return runs
    todo = []
    for run in runs:
        if recorded(run):
            say(f"{run.name}: recorded, {why}")
        else:
            todo.append(run)
    return todo


def _say(text: str) -> None:
    print(text, flush=True)


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


def plan(names, budget, seeds, out, data, follow_up, only, log=print) -> dict[str, list]:
    """Every experiment's runs (with the decision rule's follow-ups when asked), planned before
    any training so that a wrong ``--only`` name is refused first."""
    plans = {}
    for name in names:
        experiment = EXPERIMENTS[name]
        plans[name] = experiment.runs(budget, seeds or experiment.default_seeds, data)
        if follow_up and experiment.follow_ups is not None:
            extra, why = experiment.follow_ups(out, budget)
            log(f"{name}: {why}; follow-up runs: {', '.join(r.name for r in extra) or 'none'}")
            plans[name] += extra
    if only is not None:
        planned = [run.name for runs in plans.values() for run in runs]
        unknown = [run for run in only if run not in planned]
        if unknown:
            raise ValueError(
                f"--only: {', '.join(unknown)} not in the plan of {', '.join(names)} at --budget "
                f"{budget} (planned: {', '.join(planned)})"
            )
    return plans


def _recorded(experiment, out: Path, budget: str):
    if experiment.recorded is None:
        return None
    return lambda run: experiment.recorded(run, out, budget)


def train_plan(experiment, runs, folder: Path, out: Path, budget: str, amp: bool, code: str):
    """Train ``runs`` into ``folder`` (resuming, skipping recorded ones), keeping each finished
    run's record when the experiment keeps records; the finished runs' directories."""
    keep = experiment.keep_record
    return execute(
        runs,
        folder,
        log=_say,
        runtime={"amp": True} if amp else None,
        code=code,
        recorded=_recorded(experiment, out, budget),
        on_finished=None if keep is None else lambda run, run_dir: keep(run_dir, out, budget),
    )


def write_section(experiment, dirs, unfinished, out, runs_dir, budget, code, settings) -> None:
    """The experiment's section (``out/sections/NAME.md``): its analysis of the finished runs,
    headed by the schedule, the command and commit that made it, and the unfinished runs with
    the command that continues them."""
    name = experiment.name
    section = experiment.analyse(dirs, out / "figures", out, budget)
    command = " ".join(["python -m betavae.reproduce", *sys.argv[1:]]) if sys.argv else ""
    section[2:2] = schedule_lines(name, budget, settings["seeds"]) + [
        f"Made by `{command}` at commit `{code}` ({time.strftime('%Y-%m-%d')}) from "
        f"the runs in `{runs_dir / name}`.",
        "",
    ]
    if unfinished:
        amp = settings["amp"] or started_with_amp(p for p, _ in unfinished)
        section[2:2] = [
            "**Not finished, so not in this section:** "
            + "; ".join(f"`{path.name}` ({where})" for path, where in unfinished)
            + f". `python -m betavae.reproduce {name} --budget {budget} --seeds "
            f"{settings['seeds']} --out {out}"
            + (" --follow-up" if settings["follow_up"] else "")
            + (" --amp" if amp else "")
            + (f" --runs {runs_dir}" if runs_dir != out / "runs" else "")
            + "` continues them.",
            "",
        ]
    atomic_write_text(out / "sections" / f"{name}.md", "\n".join(section) + "\n")


def started_with_amp(run_dirs) -> bool:
    """Whether any of these run directories was started with ``--amp`` (its config.json says
    so): the command that continues them must say it too, or they go on in float32."""
    for path in run_dirs:
        run = RunDir(path)
        if run.config_path.exists() and run.read_config().get("amp"):
            return True
    return False


def finished_runs(plan, folder: Path, recorded=None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(directories of the runs that reached their planned steps, [(directory, how far)] of the
    others that are not kept as records either (``recorded(run)``))."""
    done, unfinished = [], []
    for run in plan:
        path = folder / run.name
        state = run_state(path)
        planned = run.config(folder).steps
        if state is not None and state[0] >= planned:
            done.append(path)
        elif recorded is not None and recorded(run):
            continue
        else:
            reached = "not started" if state is None else f"at step {state[0]:,} of {planned:,}"
            unfinished.append((path, reached))
    return done, unfinished


def assemble(out: Path) -> Path:
    """``out/report.md`` from the sections present, in the experiments' order, after the
    introduction ``out/sections/intro.md`` when there is one."""
    parts = []
    for name in ("intro", *EXPERIMENTS):
        path = out / "sections" / f"{name}.md"
        if path.exists():
            parts.append(path.read_text())
    if not any(p.startswith("# ") for p in parts[:1]):
        parts.insert(0, "# Reproduction of Burgess et al. 2018\n")
    report = out / "report.md"
    atomic_write_text(report, "\n".join(parts))
    return report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.experiment == "all":
        names = [n for n in EXPERIMENTS if n != "chairs" or args.data]
    else:
        names = [args.experiment]
    request = (names, args.budget, args.seeds, args.out, args.runs, args.data)
    try:
        if args.analyse_only and (args.train_only or args.list_commands):
            other = "--train-only" if args.train_only else "--list-commands"
            raise ValueError(f"{other} and --analyse-only exclude each other")
        if args.list_commands:
            list_commands(*request, args.amp, args.follow_up, args.only, args.jobs)
            return 0
        report = reproduce(
            *request,
            args.analyse_only,
            args.amp,
            args.follow_up,
            args.only,
            jobs=args.jobs,
            train_only=args.train_only,
        )
    except (ValueError, NonFiniteLoss) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report is not None:
        print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
