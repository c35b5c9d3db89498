"""Run by tests/test_distributed.py under torchrun (2 gloo processes): one optimisation step of the
capacity objective on a fixed global batch split over the ranks, written to OUT/rank{r}.pt. With
world size 1 the same step runs on the whole batch. C is set between the two halves' KL, so the
per-rank |KL − C| would push the halves in opposite directions."""

import sys

import torch
from torch import nn

from betavae import distributed
from betavae.models import BurgessVAE
from betavae.objectives import CapacityLoss
from betavae.train import TrainingStep

BATCH, LATENT = 8, 10


def main(out: str) -> None:
    rank, world = distributed.init(torch.device("cpu"))
    torch.manual_seed(0)
    vae = BurgessVAE()
    images = (torch.rand(BATCH, 1, 64, 64, generator=torch.Generator().manual_seed(1)) > 0.7).to(
        torch.uint8
    )
    with torch.no_grad():  # the KL of each half, to put C between them
        mu, logvar = vae.encode(images.float())
        halves = (0.5 * (mu**2 + logvar.exp() - logvar - 1)).sum(1).reshape(2, -1).mean(1)
    low, high = float(halves.min()), float(halves.max())
    assert high - low > 1e-3, halves  # C a quarter of the way: global KL above, one half below
    loss_fn = CapacityLoss(gamma=100.0, c_max=low + 0.25 * (high - low), c_steps=0)
    rows = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    step = TrainingStep(vae, "auto")
    if world > 1:
        loss_fn.kl_reduce = distributed.mean_over_ranks
        step = nn.parallel.DistributedDataParallel(step)
    optimizer = torch.optim.SGD(vae.parameters(), lr=1e-3)
    x = images[rows]
    offset = torch.tensor(rows.start * LATENT)  # each row's noise as in the single process
    logits, kl = step(x.float(), torch.tensor(5), offset)
    terms = loss_fn(logits, x, kl)
    terms.loss.backward()
    optimizer.step()
    torch.save({k: v.detach() for k, v in vae.state_dict().items()}, f"{out}/rank{rank}.pt")
    distributed.cleanup()


if __name__ == "__main__":
    main(sys.argv[1])
