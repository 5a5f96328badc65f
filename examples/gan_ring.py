"""A generative adversarial network learning a mixture of 8 Gaussians on a ring.

The generator maps 2-D noise to points; the discriminator tells real points
from generated ones. They train in alternation, each with its own Adam
optimizer: the discriminator on a real and a generated batch (binary
cross-entropy from logits), then the generator to make the discriminator say
"real" (the non-saturating loss). After training, generated points should land
near every one of the 8 modes, the classic test of mode collapse.

Run: python examples/gan_ring.py [--steps 3000] [--png gan.png]
"""
import argparse

import numpy as np

import glassnet as gn
from glassnet import nn

RADIUS, STD, MODES = 2.0, 0.05, 8
CENTERS = RADIUS * np.stack([np.cos(2 * np.pi * np.arange(MODES) / MODES),
                             np.sin(2 * np.pi * np.arange(MODES) / MODES)], axis=1)


def real_batch(rng, n):
    return (CENTERS[rng.integers(0, MODES, n)] + STD * rng.standard_normal((n, 2))).astype(np.float32)


def build(seed):
    generator = gn.Sequential([nn.Dense(128, activation="relu", input_dim=2), nn.Dense(128, activation="relu"),
                               nn.Dense(2)], seed=seed)
    discriminator = gn.Sequential([nn.Dense(128, activation="relu", input_dim=2), nn.Dense(128, activation="relu"),
                                   nn.Dense(1)], seed=seed + 1)
    return generator, discriminator


def train_gan(steps=3000, batch=256, seed=0):
    rng = np.random.default_rng(seed)
    generator, discriminator = build(seed)
    g_opt = gn.optim.Adam(generator, learning_rate=1e-3, beta_1=0.5)
    d_opt = gn.optim.Adam(discriminator, learning_rate=1e-3, beta_1=0.5)
    bce = nn.BinaryCrossentropy(from_logits=True)
    ones, zeros = np.ones((batch, 1), np.float32), np.zeros((batch, 1), np.float32)
    history = []
    for _ in range(steps):
        noise = rng.standard_normal((batch, 2)).astype(np.float32)
        with gn.no_grad():
            fake = generator(noise)
        d_opt.zero_grad()
        d_loss = bce(ones, discriminator(real_batch(rng, batch))) + bce(zeros, discriminator(fake))
        d_loss.backward()
        d_opt.step()

        g_opt.zero_grad()
        g_loss = bce(ones, discriminator(generator(rng.standard_normal((batch, 2)).astype(np.float32))))
        g_loss.backward()  # the discriminator's gradients are cleared before its next step
        g_opt.step()
        history.append((d_loss.item(), g_loss.item()))
    return generator, history


def mode_coverage(samples, within=4 * STD * 3):
    """The fraction of samples nearest to each mode (counting only those within ``within`` of it)."""
    d = np.linalg.norm(samples[:, None, :] - CENTERS[None], axis=2)
    nearest, dist = d.argmin(axis=1), d.min(axis=1)
    return np.array([np.mean((nearest == k) & (dist < within)) for k in range(MODES)])


def plot(real, fake, path):
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(*real.T, s=4, alpha=0.5, label="real")
    ax.scatter(*fake.T, s=4, alpha=0.5, label="generated")
    ax.set(aspect="equal", title="GAN: 8 Gaussians on a ring")
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(steps=3000, png=None, seed=0, verbose=True):
    generator, history = train_gan(steps, seed=seed)
    rng = np.random.default_rng(seed + 100)
    fake = generator.predict(rng.standard_normal((1000, 2)).astype(np.float32))
    coverage = mode_coverage(fake)
    if verbose:
        print("share of 1000 generated samples near each mode:", np.round(coverage, 3).tolist())
        print(f"modes covered (>= 5%): {(coverage >= 0.05).sum()} of {MODES}; "
              f"final losses D {history[-1][0]:.3f}, G {history[-1][1]:.3f}")
    if png:
        plot(real_batch(rng, 1000), fake, png)
        if verbose:
            print(f"wrote {png}")
    return coverage, fake


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--png", default="gan_ring.png")
    args = parser.parse_args()
    main(args.steps, args.png)
