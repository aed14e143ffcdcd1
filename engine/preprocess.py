"""Turn a hand-drawn image into an MNIST-like input.

MNIST digits were size-normalised to fit a 20×20 box (keeping the aspect ratio), then placed
in a 28×28 image so that their centre of mass sits at the centre. :func:`mnist_like` does the
same to a drawing, so the model sees what it was trained on.
"""

from __future__ import annotations

import numpy as np

BOX = 20
SIZE = 28
CENTRE = 14.0


def resize_area(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D float image by area averaging (each output pixel is the mean of the input
    area it covers); works for shrinking and enlarging."""
    h, w = image.shape
    rows = _area_weights(h, height)   # (height, h)
    cols = _area_weights(w, width)    # (width, w)
    return rows @ image @ cols.T


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix: row i averages the input span [i·n_in/n_out, (i+1)·n_in/n_out)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = edges[i], edges[i + 1]
        for j in range(int(np.floor(lo)), min(int(np.ceil(hi)), n_in)):
            weights[i, j] = min(hi, j + 1) - max(lo, j)
        weights[i] /= hi - lo
    return weights


def mnist_like(drawing: np.ndarray) -> np.ndarray:
    """A drawing (h, w) with ink in [0, 1] (or 0-255) → uint8 (784,) as MNIST would store it.

    Crops to the ink, scales the longer side to 20 pixels, pads to 28×28 and shifts so the
    centre of mass is at the centre. An empty drawing gives all zeros.
    """
    img = np.asarray(drawing, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"drawing: shape {img.shape} is not valid; expected (height, width)")
    if img.max(initial=0.0) > 1.0:
        img = img / 255.0
    img = np.clip(img, 0.0, 1.0)
    ys, xs = np.nonzero(img > 0.05)
    if len(ys) == 0:
        return np.zeros(SIZE * SIZE, dtype=np.uint8)
    crop = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = resize_area(crop, new_h, new_w)
    canvas = np.zeros((SIZE, SIZE))
    top, left = (SIZE - new_h) // 2, (SIZE - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = small
    total = canvas.sum()
    cy = (canvas.sum(axis=1) @ np.arange(SIZE)) / total
    cx = (canvas.sum(axis=0) @ np.arange(SIZE)) / total
    # MNIST's centres of mass sit at (14, 14) in 0-based pixel coordinates (measured: mean
    # 13.99, 14.00 over its test set), not at the geometric centre 13.5.
    dy, dx = int(round(CENTRE - cy)), int(round(CENTRE - cx))
    canvas = _shift(canvas, dy, dx)
    return np.clip(np.round(canvas * 255), 0, 255).astype(np.uint8).reshape(-1)


def _shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift with zero fill (no wrap-around)."""
    out = np.zeros_like(image)
    h, w = image.shape
    src_y = slice(max(0, -dy), min(h, h - dy))
    dst_y = slice(max(0, dy), min(h, h + dy))
    src_x = slice(max(0, -dx), min(w, w - dx))
    dst_x = slice(max(0, dx), min(w, w + dx))
    out[dst_y, dst_x] = image[src_y, src_x]
    return out
