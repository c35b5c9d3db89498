"""What a user writes instead of the fused ops: the speed baselines of the benchmarks
(docs/design.md, speed goals). The loss code is the anchors' (e.g. 1Konny/Beta-VAE, the usual β-VAE
reference implementation): ``randn_like`` reparameterisation, the closed-form KL, and
``F.binary_cross_entropy_with_logits`` summed over pixels, on float targets.

Our ``reference`` backend is the oracle for values (its own Philox in PyTorch), not a speed
baseline; these functions are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from betavae.models import BurgessVAE, Decoder


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + σ·ε with ε from ``randn_like``."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def sample_kl(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """z = mu + σ·ε and the element-wise KL to N(0, 1), as a user writes them."""
    kl = 0.5 * (mu * mu + logvar.exp() - logvar - 1)
    return reparameterise(mu, logvar), kl


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample BCE summed over pixels; uint8/bool targets become float first (the torch loss
    takes float targets only)."""
    if not target.is_floating_point():
        target = target.to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1)


def capacity_loss(
    logits: torch.Tensor,
    images: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    gamma: float,
    capacity: float,
) -> torch.Tensor:
    """The anchors' training loss: BCE summed and divided by the batch, KL summed over latents and
    averaged over the batch, ``recon + γ·|KL − C|``."""
    batch = images.shape[0]
    recon = F.binary_cross_entropy_with_logits(logits, images, reduction="sum") / batch
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()
    return recon + gamma * (kl - capacity).abs()


class ModuleCallDecoder(Decoder):
    """The Burgess decoder as a user writes it: each transposed convolution called as a module,
    bias inside (our CPU decoder adds the bias itself: betavae.models.transposed_conv)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, 32, 4, 4)
        for deconv in self.deconvs[:-1]:
            x = torch.relu(deconv(x))
        return self.deconvs[-1](x)


def users_model(channels: int) -> BurgessVAE:
    """The Burgess model with a user's decoder, holding the weights ``BurgessVAE`` draws under
    the same seed (so the baseline and our step start from one model)."""
    vae = BurgessVAE(channels)
    decoder = ModuleCallDecoder(channels, vae.latent_dim)
    decoder.load_state_dict(vae.decoder.state_dict())
    vae.decoder = decoder
    return vae
