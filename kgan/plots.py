"""Pictures of samples: image grids and 2D scatter plots, written atomically.

matplotlib and PIL are imported on use, so importing this module is cheap.
"""
import io
import math

import numpy as np

from kgan.utils import atomic_path


def image_grid(images, ncols=None):
    """Tile (N, H, W, C) images in [-1, 1] into one uint8 (H', W', C) grid."""
    images = np.clip((np.asarray(images) + 1.0) * 127.5, 0, 255).astype("uint8")
    n, h, w, c = images.shape
    ncols = ncols or int(math.ceil(math.sqrt(n)))
    nrows = int(math.ceil(n / ncols))
    grid = np.zeros((nrows * (h + 1) + 1, ncols * (w + 1) + 1, c), "uint8")
    for i in range(n):
        r, col = divmod(i, ncols)
        grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + col * (w + 1):1 + col * (w + 1) + w] = images[i]
    if c == 1:
        grid = grid[..., 0]
    return grid


def scatter_png(points, dataset=None, title=None):
    """PNG bytes of a 2D scatter plot of ``points`` over the true modes of ``dataset``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, label="generated")
    if dataset is not None:
        from kgan.data import mode_means

        means, _ = mode_means(dataset)
        ax.scatter(means[:, 0], means[:, 1], s=40, c="red", marker="x", label="true modes")
        lim = np.abs(means).max() * 1.5
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def save_samples_png(samples, path, dataset=None, title=None):
    """Write a sample grid (images) or scatter plot (2D points) to ``path`` atomically."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        data = scatter_png(samples, dataset, title)
    else:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image_grid(samples)).save(buf, format="PNG")
        data = buf.getvalue()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return data
