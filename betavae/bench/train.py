"""``python -m betavae.bench train``: training images/s of the Burgess model at batch 64, side by
side in one run, each variant in a fresh process:

- the anchors' plain loop (the loss code of betavae/bench/user_code.py: ``randn_like``, the KL
  formula, ``binary_cross_entropy_with_logits``; float data preloaded in memory, default memory
  format, no fused ops, the decoder's layers called as modules), eager, under bf16 autocast,
  and under ``torch.compile``: the baselines;
- the betavae trainer's step (fused loss ops, uint8 targets, channels-last; ``train.training_step``)
  in float32 and with ``--amp``, eager and compiled;
- the same step with the decoder's layers called as modules (bias inside oneDNN's transposed
  convolution, as before betavae.models.transposed_conv): that change's before/after;
- the same step with the ``reference`` loss backend (the value oracle);

plus the share of the fused step spent sampling data, and the aggregate images/s of N = 1, 2
trainings at once with cores/N threads each (what ``reproduce --jobs N`` does)."""

from __future__ import annotations

import multiprocessing
import queue
import statistics
import time

import torch

from betavae.amp import amp_problem, autocast
from betavae.config import TrainConfig
from betavae.data import BatchSampler, get_dataset
from betavae.models import BurgessVAE
from betavae.objectives import CapacityLoss, capacity_at
from betavae.process_tuning import threads_per_run

from . import user_code
from .report import markdown_table, text_table

RECIPE = TrainConfig()  # the paper's dSprites recipe, the speed's workload


def _images_per_s(step_fn, steps: int, warmup: int, batch: int, device, windows: int = 3) -> float:
    """Median images/s over ``windows`` timed windows of ``steps`` steps, after ``warmup`` steps."""
    for k in range(warmup):
        step_fn(k)
    rates = []
    for w in range(windows):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for k in range(steps):
            step_fn(warmup + w * steps + k)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def plain_loop(data, device, batch: int, amp: bool = False, compile_model: bool = False):
    """The baseline a user would write (the anchors' loop): float data, default layout, the loss
    of ``user_code.capacity_loss``; optionally the forward and loss under bf16 autocast, or the
    forward + loss function compiled."""
    torch.manual_seed(0)
    vae = user_code.users_model(data.channels).to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=RECIPE.lr)
    pool = data.images[torch.arange(0, len(data), max(1, len(data) // 8192))].float().to(device)
    pool = pool / data.images.max_value

    def loss_of(x, capacity):
        with autocast(device, amp):
            mu, logvar = vae.encode(x)
            logits = vae.decode(user_code.reparameterise(mu, logvar))
            return user_code.capacity_loss(logits, x, mu, logvar, RECIPE.gamma, capacity)

    if compile_model:
        loss_of = torch.compile(loss_of)

    def step(k):
        x = pool[torch.randint(len(pool), (batch,), device=device)]
        capacity = torch.tensor(capacity_at(k, RECIPE.c_max, RECIPE.c_steps), device=device)
        loss = loss_of(x, capacity)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def fused_loop(
    data,
    device,
    batch: int,
    backend: str,
    compile_model: bool,
    amp: bool = False,
    module_decoder: bool = False,
):
    """The betavae trainer's step, in a process tuned as a training tunes it
    (betavae/process_tuning.py); the plain loop's process gets no tuning and does not even import
    betavae.train. ``module_decoder``: the decoder's layers called as modules (the before of
    betavae.models.transposed_conv)."""
    from betavae.process_tuning import tune_cpu_process
    from betavae.train import TrainingStep, make_optimizer, training_step

    tune_cpu_process()

    torch.manual_seed(0)
    vae = user_code.users_model(data.channels) if module_decoder else BurgessVAE(data.channels)
    vae = vae.to(device, memory_format=torch.channels_last)
    opt = make_optimizer(vae, RECIPE.lr, device)
    module = TrainingStep(vae, backend)
    if compile_model:
        module = torch.compile(module)
    sampler = BatchSampler(data, device, seed=0)
    loss_fn = CapacityLoss(RECIPE.gamma, RECIPE.c_max, RECIPE.c_steps, backend=backend)
    seed = torch.tensor(0)

    def step(k):
        offset = torch.tensor(k * batch * 10)
        training_step(module, loss_fn, opt, sampler, batch, seed, offset, k, amp)

    return step, sampler


def _measure(
    variant: str,
    backend: str,
    compiled: bool,
    amp: bool,
    device: str,
    data_name: str,
    batch: int,
    steps: int,
) -> tuple[float, float | None]:
    """(images/s, sampling share or None) of one variant; runs in its own process."""
    dev = torch.device(device)
    data = _dataset(data_name)
    warmup = 5 if compiled else 3
    if variant == "plain":
        step = plain_loop(data, dev, batch, amp, compiled)
        return _images_per_s(step, steps, warmup, batch, dev), None
    step, sampler = fused_loop(data, dev, batch, backend, compiled, amp, variant == "modules")
    rate = _images_per_s(step, steps, warmup, batch, dev)
    sample_rate = _images_per_s(lambda k: sampler.sample(batch), steps * 10, 3, batch, dev)
    return rate, rate / sample_rate


def _dataset(name: str):
    return get_dataset(name, quiet=True) if "dsprites" in name else get_dataset(name)


def _concurrent_worker(threads, barrier, results, amp, device, data_name, batch, steps) -> None:
    """One of N trainings at once: warm up, wait for the others, then time."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    step, _ = fused_loop(_dataset(data_name), dev, batch, "auto", False, amp)
    for k in range(3):
        step(k)
    barrier.wait()
    results.put(_images_per_s(step, steps, 0, batch, dev))


def concurrent_rate(
    runs: int, amp: bool, device: str, data_name: str, batch: int, steps: int, timeout_s: float
) -> float | None:
    """Aggregate images/s of ``runs`` trainings at once, each in its own process with
    ``threads_per_run(runs)`` threads (as ``reproduce --jobs N`` runs a plan); None when they
    do not finish within ``timeout_s``."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(runs), ctx.Queue()
    args = (threads_per_run(runs), barrier, results, amp, device, data_name, batch, steps)
    workers = [ctx.Process(target=_concurrent_worker, args=args) for _ in range(runs)]
    for worker in workers:
        worker.start()
    rates = []
    deadline = time.monotonic() + timeout_s
    try:
        for _ in workers:
            rates.append(results.get(timeout=max(0.0, deadline - time.monotonic())))
    except queue.Empty:
        return None
    finally:
        for worker in workers:
            worker.join(timeout=1)
            if worker.is_alive():
                worker.terminate()
    return sum(rates)


def _in_subprocess(args: tuple, timeout_s: float):
    """Run _measure in a fresh process (fair, isolated); None when it exceeds ``timeout_s``."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        job = pool.apply_async(_measure, args)
        try:
            return job.get(timeout=timeout_s)
        except multiprocessing.TimeoutError:
            pool.terminate()
            return None


PLAIN = "anchors' plain loop"
FUSED = "betavae step, fused loss"
MODULES = "betavae step, fused loss, decoder layers as modules"
REFERENCE = "betavae step, reference loss"


def variants(use_compile: bool, amp: bool) -> list[tuple[str, str, str, bool, bool]]:
    """(label, variant, loss backend, compiled, amp) of every row, baselines first."""
    rows = [(PLAIN, "plain", "-", False, False)]
    rows += [(PLAIN, "plain", "-", False, True)] if amp else []
    rows += [(PLAIN, "plain", "-", True, False)] if use_compile else []
    rows += [(FUSED, "fused", "auto", False, False)]
    rows += [(FUSED, "fused", "auto", False, True)] if amp else []
    rows += [(FUSED, "fused", "auto", True, False)] if use_compile else []
    rows += [(FUSED, "fused", "auto", True, True)] if use_compile and amp else []
    rows += [(MODULES, "modules", "auto", False, amp)]
    rows += [(REFERENCE, "fused", "reference", False, False)]
    return rows


def run(
    device: str = "cpu",
    data_name: str = "dsprites",
    batch: int = 64,
    steps: int = 20,
    use_compile: bool = True,
    timeout_s: float = 240.0,
    concurrent: tuple[int, ...] = (1, 2),
) -> tuple[str, str]:
    """The side-by-side table (text, markdown), then the concurrent-runs table (CPU only)."""
    amp_reason = amp_problem(torch.device(device))
    rows, rates, sample_share = [], {}, None
    for label, variant, backend, compiled, amp in variants(use_compile, amp_reason is None):
        args = (variant, backend, compiled, amp, device, data_name, batch, steps)
        result = _in_subprocess(args, timeout_s)
        cells = [label, backend, "bf16 autocast" if amp else "float32", "yes" if compiled else "no"]
        if result is None:
            rows.append([*cells, f"did not finish in {timeout_s:.0f} s", "-", "-"])
            continue
        rate, share = result
        rates[(variant, compiled, amp)] = rate
        if share is not None and sample_share is None:
            sample_share = share
        ratios = [
            f"{rate / base:.2f}x" if base else "-"
            for base in (rates.get(("plain", False, False)), rates.get(("plain", True, False)))
        ]
        rows.append([*cells, f"{rate:.0f}", *ratios])
    headers = [
        "loop",
        "loss backend",
        "precision",
        "torch.compile",
        "images/s",
        "vs plain loop",
        "vs plain loop compiled",
    ]
    share = f"{100 * sample_share:.1f}%" if sample_share is not None else "n/a"
    amp_note = "" if amp_reason is None else f"; no bf16 rows: {amp_reason}"
    env = (
        f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
        f"batch {batch}, {data_name}, Burgess model, median of 3 windows of {steps} steps, "
        f"each variant in a fresh process; the betavae rows run with the trainer's process "
        f"settings (betavae/process_tuning.py), the plain loop without; data sampling takes "
        f"{share} of the fused float32 step{amp_note}"
    )
    before = rates.get(("modules", False, amp_reason is None))
    after = rates.get(("fused", False, amp_reason is None))
    if before and after:
        env += (
            f"; the decoder's bias outside oneDNN's transposed convolution: {after / before:.2f}x"
        )
    text = env + "\n" + text_table(headers, rows)
    markdown = ["# Training benchmark", env + ".", markdown_table(headers, rows)]
    if device == "cpu" and concurrent:
        heading, table, table_text = concurrent_table(
            concurrent, amp_reason is None, device, data_name, batch, steps, timeout_s
        )
        markdown += [heading, table]
        text += "\n\n" + heading + "\n" + table_text
    return text, "\n\n".join(markdown)


def concurrent_table(runs_list, amp, device, data_name, batch, steps, timeout_s):
    """(heading, markdown, text) of the aggregate images/s of N trainings at once."""
    headers = ["trainings at once", "threads each", "aggregate images/s", "vs one at a time"]
    rows, base = [], None
    for runs in runs_list:
        rate = concurrent_rate(runs, amp, device, data_name, batch, steps, timeout_s)
        cells = [str(runs), str(threads_per_run(runs))]
        if rate is None:
            rows.append([*cells, f"did not finish in {timeout_s:.0f} s", "-"])
            continue
        base = base or (rate if runs == 1 else None)
        rows.append([*cells, f"{rate:.0f}", f"{rate / base:.2f}x" if base else "-"])
    precision = "bf16 autocast" if amp else "float32"
    heading = (
        f"Concurrent trainings (`python -m betavae.reproduce ... --jobs N`): the betavae step, "
        f"fused loss, {precision}, each training in its own process with cores/N threads, "
        f"timed together after a common start"
    )
    return heading, markdown_table(headers, rows), text_table(headers, rows)
