"""A published training log of another implementation, the peer the capacity-map experiment
checks this one against (numbers only, rounded; their source named so anyone can re-read them).

YannDubs/disentangling-vae, ``results/betaB_dsprites/`` (``specs.json``: Burgess et al.'s model
and capacity loss, official dSprites, γ 100, C 0 → 25 nats over 100,000 steps, Adam lr 1e-3,
batch 64, 30 epochs; ``train_losses.log``: per-epoch means of the training batches), read at
commit fe65e197e73691233120498cefe1d9e2953f6ee9 of https://github.com/YannDubs/disentangling-vae.
One epoch is 737,280 images / 64 = 11,520 steps. Epochs 0-12 cover this project's 150,000-step
run; 26 and 29 show where that run's fourth latent opens and where it ends.
"""

from __future__ import annotations

SOURCE = (
    "YannDubs/disentangling-vae, results/betaB_dsprites/train_losses.log "
    "(commit fe65e19; γ 100, lr 1e-3, C 0→25 over 100k steps, batch 64, official dSprites)"
)
GAMMA, LR, C_MAX, C_STEPS, BATCH_SIZE = 100.0, 1e-3, 25.0, 100_000, 64
STEPS_PER_EPOCH = 737_280 // BATCH_SIZE

# epoch -> (mean recon in nats per image, mean KL of each of the 10 latents in nats)
EPOCHS = {
    0: (338.96, (0.001, 0.002, 0.002, 0.002, 0.002, 0.907, 0.002, 0.895, 0.001, 0.002)),
    1: (180.13, (0.004, 0.005, 0.002, 0.002, 0.003, 1.907, 0.054, 1.905, 0.009, 0.465)),
    2: (117.16, (0.0, 0.0, 0.0, 0.0, 0.0, 2.805, 0.001, 2.803, 0.0, 1.594)),
    3: (102.39, (0.0, 0.0, 0.0, 0.0, 0.001, 3.764, 0.001, 3.767, 0.001, 2.545)),
    4: (98.95, (0.0, 0.001, 0.0, 0.0, 0.0, 4.736, 0.001, 4.747, 0.001, 3.473)),
    5: (97.79, (0.001, 0.001, 0.001, 0.001, 0.001, 5.718, 0.001, 5.727, 0.001, 4.387)),
    6: (96.24, (0.001, 0.001, 0.001, 0.0, 0.001, 6.71, 0.001, 6.716, 0.001, 5.284)),
    7: (94.45, (0.001, 0.001, 0.001, 0.001, 0.001, 7.706, 0.001, 7.707, 0.001, 6.178)),
    8: (93.79, (0.001, 0.001, 0.001, 0.001, 0.001, 8.657, 0.001, 8.654, 0.001, 7.018)),
    9: (97.44, (0.001, 0.001, 0.002, 0.001, 0.001, 8.906, 0.001, 8.903, 0.001, 7.179)),
    10: (97.53, (0.001, 0.001, 0.001, 0.001, 0.001, 8.92, 0.001, 8.935, 0.001, 7.14)),
    11: (96.91, (0.001, 0.001, 0.001, 0.001, 0.001, 8.897, 0.001, 8.936, 0.001, 7.159)),
    12: (94.54, (0.001, 0.001, 0.001, 0.001, 0.001, 8.889, 0.002, 8.914, 0.001, 7.188)),
    26: (94.63, (0.007, 0.016, 0.002, 0.016, 0.019, 8.498, 0.202, 8.714, 0.002, 7.53)),
    29: (81.06, (0.004, 0.009, 0.002, 0.008, 0.01, 7.505, 3.296, 7.757, 0.003, 6.407)),
}
