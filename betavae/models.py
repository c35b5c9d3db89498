"""The "Burgess" β-VAE architecture (docs/design.md, "Model"): 64×64 input, c channels, ReLU, 10
Gaussian latents; 502,005 parameters for c = 1."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIZE = 64  # the Burgess model's input and output height and width


def kaiming_init(module: nn.Module) -> None:
    """Re-draw every convolution and linear weight kaiming-uniform with the ReLU gain (bound
    sqrt(6 / fan_in), biases left as PyTorch draws them).

    Why: with PyTorch's default init (bound sqrt(1 / fan_in), ~2.4x smaller) the Burgess model
    under the paper's recipe (lr 5e-4, gamma 1000) settles on the mean image within a few hundred
    steps and spends its KL budget on posteriors that ignore the input (recon ~745 nats through
    6k steps, measured); with this init it leaves the mean image at once (see
    docs/reproduction/escape.md).
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")


class Encoder(nn.Module):
    """Four 4×4 stride-2 convolutions to 32×4×4, then 512→256→256→2·latent_dim."""

    def __init__(self, channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        convs = [nn.Conv2d(channels, 32, 4, 2, 1)] + [nn.Conv2d(32, 32, 4, 2, 1) for _ in range(3)]
        self.convs = nn.ModuleList(convs)
        self.fc = nn.Sequential(
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Linear(256, 256),
            nn.ReLU(),
            nn.Linear(256, 2 * latent_dim),
        )
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for conv in self.convs:
            x = torch.relu_(conv(x))  # in place: a convolution does not need its output
        stats = self.fc(x.flatten(1))
        return stats[:, : self.latent_dim], stats[:, self.latent_dim :]


def transposed_conv(layer: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)``, with the bias added after the convolution on the CPU.

    Why: oneDNN computes a transposed convolution's bias gradient with its *reference* kernel
    (``ref_deconvolution_bwd_weights_t::compute_bwd_bias``): 12–17 % of a CPU training step of
    this model (perf). Added here, the bias's gradient is autograd's vectorised sum over batch
    and pixels: training with ``--amp`` 1.14-1.19x faster on the 2-core Xeon
    (bench/results/train-cpu-2026-12-06-decoder-bias.md). Same parameters, state-dict keys and
    function; the sums round differently (a 2,000-step run moves no more than with another
    thread count). Elsewhere (cuDNN) the layer runs as is."""
    if x.device.type != "cpu" or layer.bias is None:
        return layer(x)
    y = F.conv_transpose2d(
        x,
        layer.weight,
        None,
        layer.stride,
        layer.padding,
        layer.output_padding,
        layer.groups,
        layer.dilation,
    )
    # in place: the convolution's backward needs its inputs, not its output
    return y.add_(layer.bias.to(y.dtype).view(1, -1, 1, 1))


class Decoder(nn.Module):
    """The encoder transposed: latent_dim→256→256→512, 32×4×4, four 4×4 stride-2 transposed
    convolutions back to c×64×64 Bernoulli logits."""

    def __init__(self, channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.ReLU(),
            nn.Linear(256, 256),
            nn.ReLU(),
            nn.Linear(256, 512),
            nn.ReLU(),
        )
        deconvs = [nn.ConvTranspose2d(32, 32, 4, 2, 1) for _ in range(3)]
        self.deconvs = nn.ModuleList(deconvs + [nn.ConvTranspose2d(32, channels, 4, 2, 1)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, 32, 4, 4)
        for deconv in self.deconvs[:-1]:
            x = torch.relu_(transposed_conv(deconv, x))
        return transposed_conv(self.deconvs[-1], x)


class BurgessVAE(nn.Module):
    """Encoder returns (mu, logvar); decoder maps a latent sample to logits. The reparameterised
    sample is drawn by the training step with the fused op (betavae.step), not here."""

    input_kind = "images"

    def __init__(self, channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        if channels < 1 or latent_dim < 1:
            raise ValueError(f"channels and latent_dim must be >= 1; got {channels}, {latent_dim}")
        self.channels, self.latent_dim = channels, latent_dim
        self.encoder = Encoder(channels, latent_dim)
        self.decoder = Decoder(channels, latent_dim)
        kaiming_init(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z|x)."""
        return self.encoder(x)


def factor_kind(name: str) -> str:
    """How a ground-truth factor is fed to its channel: ``circular`` (an angle, as cos/sin),
    ``categorical`` (one-hot) or ``ordinal`` (its class scaled to [-1, 1])."""
    lowered = name.lower()
    if any(word in lowered for word in ("orient", "rotation", "angle", "azimuth")):
        return "circular"
    if any(word in lowered for word in ("shape", "category", "object")):
        return "categorical"
    return "ordinal"


class FactorGenerator(nn.Module):
    """The factor-conditioned generator of Burgess et al. 2018 (Fig. 3): each varying ground-truth
    factor v_k passes through its own noisy Gaussian channel q(z_k | v_k) = N(μ_k(v_k), σ_k(v_k)²),
    ``dims_per_factor`` latents wide, with a standard-normal prior; the Burgess decoder maps the
    concatenated z to Bernoulli logits. Trained with the capacity objective on the total KL, the
    per-factor KL shows which factor the decoder buys information about first.

    ``encode`` takes factor classes ``(B, K)`` (int64, every factor of the dataset, constant ones
    included) and returns ``(mu, logvar)`` of shape ``(B, F·dims_per_factor)`` for the F varying
    factors, grouped by factor (columns ``f·dims … (f+1)·dims − 1`` belong to factor f).
    """

    input_kind = "factors"

    def __init__(
        self,
        factor_names: list[str],
        factor_sizes: list[int],
        channels: int = 1,
        dims_per_factor: int = 2,
        hidden: int = 64,
    ) -> None:
        super().__init__()
        if dims_per_factor < 1 or channels < 1:
            raise ValueError(
                f"channels and dims_per_factor must be >= 1; got {channels}, {dims_per_factor}"
            )
        self.factor_sizes = [int(s) for s in factor_sizes]
        self.factor_index = [k for k, s in enumerate(self.factor_sizes) if s > 1]
        if not self.factor_index:
            raise ValueError("the generator needs at least one factor with more than one class")
        self.factor_names = [factor_names[k] for k in self.factor_index]
        self.kinds = [factor_kind(n) for n in self.factor_names]
        self.dims_per_factor, self.channels = dims_per_factor, channels
        self.latent_dim = len(self.factor_index) * dims_per_factor
        self.encoders = nn.ModuleList(
            nn.Sequential(
                nn.Linear(self._feature_width(k), hidden),
                nn.ReLU(),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Linear(hidden, 2 * dims_per_factor),
            )
            for k in range(len(self.factor_index))
        )
        self.decoder = Decoder(channels, self.latent_dim)
        kaiming_init(self)

    def _feature_width(self, f: int) -> int:
        kind, size = self.kinds[f], self.factor_sizes[self.factor_index[f]]
        return {"circular": 2, "categorical": size, "ordinal": 1}[kind]

    def features(self, classes: torch.Tensor, f: int) -> torch.Tensor:
        """The input of channel f for factor classes ``(B, K)``."""
        k = self.factor_index[f]
        size, c = self.factor_sizes[k], classes[:, k]
        if self.kinds[f] == "categorical":
            return nn.functional.one_hot(c, size).float()
        position = c.float() / (size - 1)
        if self.kinds[f] == "circular":  # both ends of the range are the same angle (dSprites)
            angle = 2 * torch.pi * position
            return torch.stack([angle.cos(), angle.sin()], dim=1)
        return (2 * position - 1).unsqueeze(1)

    def encode(self, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if classes.dim() != 2 or classes.shape[1] != len(self.factor_sizes):
            raise ValueError(
                f"classes must have shape (B, {len(self.factor_sizes)}); got {tuple(classes.shape)}"
            )
        stats = [net(self.features(classes, f)) for f, net in enumerate(self.encoders)]
        d = self.dims_per_factor
        mu = torch.cat([s[:, :d] for s in stats], dim=1)
        logvar = torch.cat([s[:, d:] for s in stats], dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(classes)

    def factor_kl(self, kl_per_latent: torch.Tensor) -> torch.Tensor:
        """Per-latent KL ``(..., latent_dim)`` summed within each factor's channel: ``(..., F)``."""
        shape = kl_per_latent.shape[:-1]
        return kl_per_latent.reshape(*shape, len(self.factor_index), self.dims_per_factor).sum(-1)


MODEL_NAMES = ("burgess", "generator")


def build_model(
    name: str,
    channels: int,
    latent_dim: int = 10,
    factor_names: list[str] | None = None,
    factor_sizes: list[int] | None = None,
    dims_per_factor: int = 2,
) -> nn.Module:
    """``burgess`` (the β-VAE of images) or ``generator`` (the factor-conditioned generator,
    which needs the dataset's factors)."""
    if name == "burgess":
        return BurgessVAE(channels, latent_dim)
    if name == "generator":
        if not factor_sizes:
            raise ValueError("model 'generator' needs a dataset with ground-truth factors")
        return FactorGenerator(factor_names, factor_sizes, channels, dims_per_factor)
    raise ValueError(f"unknown model {name!r}; choose from {list(MODEL_NAMES)}")
