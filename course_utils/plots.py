"""Plot helpers shared by the notebooks: image grids, boxes and masks over images, top-k bars.

These are plumbing, not model code: every helper takes plain images and plain numbers that a
notebook has already pulled out of a model's output, and draws them with matplotlib.

Images may be given as

* a PIL image (any mode: ``RGB``, ``L``, ``RGBA``, ``P``, ...);
* a numpy array ``H x W`` (grey), ``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA), either ``uint8``
  in ``0..255`` or float in ``0..1``;
* a torch tensor ``C x H x W`` (``C`` = 1, 3 or 4) or ``H x W``, on any device;
* the path of an image file (``str`` or ``Path``), a URL or a course image key, opened with
  :func:`course_utils.images.load_image` (its errors say what is wrong with the file).

torch is never imported by this module; a tensor is recognised by its type's module name.
:func:`to_rgb_array` is the converter the other helpers share.

Coordinates are pixels with the origin at the top-left corner of the image: pixel ``(row, col)``
covers ``x`` in ``[col, col + 1)`` and ``y`` in ``[row, row + 1)``, the convention of
torchvision and most detectors, so a box ``(0, 0, W, H)`` is exactly the whole image.

Functions that draw on one axes return the :class:`~matplotlib.axes.Axes` (pass ``ax=`` to draw
into a figure of your own); :func:`image_grid` returns the :class:`~matplotlib.figure.Figure`.
Assign the result (``fig = image_grid(...)``) so Jupyter shows the figure once.

Example::

    >>> from course_utils.plots import draw_boxes
    >>> ax = draw_boxes(img, [[10, 20, 120, 200]], labels=["cat"], scores=[0.93])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.colors import hsv_to_rgb, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from PIL import Image

if TYPE_CHECKING:  # only for the type checker; torch is never imported at run time
    import torch

__all__ = ["ImageLike", "draw_boxes", "image_grid", "overlay_masks", "to_rgb_array", "topk_bars"]

#: What the helpers accept as an image: PIL image, numpy array or torch tensor (C x H x W).
ImageLike: TypeAlias = "Image.Image | npt.NDArray[Any] | torch.Tensor | str | os.PathLike[str]"

RGB: TypeAlias = tuple[float, float, float]

_EXPECTED_IMAGE = (
    "expected a PIL image, a numpy array H x W, H x W x 3 or H x W x 4 "
    "(uint8 0..255 or float 0..1), a torch tensor C x H x W, or the path of an image file"
)


# --------------------------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------------------------


def _is_tensor(x: object) -> bool:
    """True for a torch tensor, without importing torch."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _tensor_to_numpy(x: Any) -> npt.NDArray[Any]:
    """Move a torch tensor to a numpy array (CPU, no grad; bfloat16/float16 become float32)."""
    t = x.detach().cpu()
    if t.is_floating_point() and str(t.dtype) in ("torch.bfloat16", "torch.float16"):
        t = t.float()
    return np.asarray(t.numpy())


def _as_numpy(x: Any, what: str) -> npt.NDArray[Any]:
    """Turn a list, numpy array or torch tensor into a numpy array (for boxes, masks, scores)."""
    if _is_tensor(x):
        return _tensor_to_numpy(x)
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise TypeError(f"{what} must be array-like; got {type(x).__name__} ({err})") from err


def _scale_to_uint8(arr: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Map bool, integer 0..255 or float 0..1 values to uint8 0..255; refuse anything else."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo < 0 or hi > 255:
            raise ValueError(
                f"integer images must hold values in 0..255; got {arr.dtype} with values "
                f"{lo}..{hi} (scale it first, e.g. (img / img.max() * 255).astype('uint8'))"
            )
        return arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not np.all(np.isfinite(arr)):
            raise ValueError("float images must be finite; got NaN or inf values")
        lo_f, hi_f = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        tol = 1e-3  # rounding noise from resizing or un-normalising
        if lo_f < -tol or hi_f > 1 + tol:
            raise ValueError(
                f"float images must hold values in 0..1; got values {lo_f:.3g}..{hi_f:.3g} "
                "(a normalised model input? undo the normalisation: img * std + mean)"
            )
        return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise TypeError(f"image dtype must be uint8, bool, integer or float; got {arr.dtype}")


def to_rgb_array(image: ImageLike) -> npt.NDArray[np.uint8]:
    """Convert an image to a numpy array ``H x W x 3`` of ``uint8`` (the helpers' shared converter).

    The result is always a new, writable array (never a view of the input). Grey images are
    repeated over the three channels; an alpha channel is composited over a
    white background (fully transparent pixels come out white), the same for PIL images, numpy
    arrays and tensors. Float images must lie in ``0..1``; integer images in ``0..255``.

    Raises ``TypeError`` for an unsupported type or dtype and ``ValueError`` for a bad shape or
    out-of-range values; the message says what was expected and what came in.

    Example::

        >>> to_rgb_array(np.zeros((2, 3), dtype=np.float32)).shape
        (2, 3, 3)
    """
    if isinstance(image, Image.Image):
        mode = image.mode
        if mode in ("RGB", "L", "RGBA"):
            arr = np.asarray(image)
        elif "A" in mode or (mode == "P" and "transparency" in image.info):
            arr = np.asarray(image.convert("RGBA"))
        elif mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            raise TypeError(
                f"PIL images of mode {mode!r} (16/32-bit) have no fixed 0..255 range; "
                "convert them first, e.g. Image.fromarray(scaled_uint8_array)"
            )
        else:
            arr = np.asarray(image.convert("RGB"))
    elif _is_tensor(image):
        t = _tensor_to_numpy(image)
        if t.ndim == 3:
            if t.shape[0] not in (1, 3, 4):
                raise ValueError(
                    f"torch tensors must have shape C x H x W with C = 1, 3 or 4; got "
                    f"{tuple(t.shape)} (for H x W x C use tensor.permute(2, 0, 1))"
                )
            t = np.transpose(t, (1, 2, 0))
        elif t.ndim == 4 and t.shape[0] == 1:
            raise ValueError(
                f"torch tensors must have shape C x H x W or H x W; got a batch {tuple(t.shape)} "
                "(take one image: tensor[0])"
            )
        elif t.ndim != 2:
            raise ValueError(f"torch tensors must have shape C x H x W or H x W; got {tuple(t.shape)}")
        arr = t
    elif isinstance(image, np.ndarray):
        arr = image
    elif isinstance(image, (str, os.PathLike)):  # a file, URL or course image key: opened as load_image does
        from .images import load_image

        arr = np.asarray(load_image(image))
    else:
        raise TypeError(f"{_EXPECTED_IMAGE}; got {type(image).__module__}.{type(image).__name__}")

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] not in (3, 4):
        hint = " (channels first? use arr.transpose(1, 2, 0))" if arr.shape[0] in (1, 3, 4) else ""
        raise ValueError(f"image arrays must have shape H x W, H x W x 3 or H x W x 4; got {arr.shape}{hint}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"image arrays must have shape H x W, H x W x 3 or H x W x 4; got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image must have at least one pixel; got shape {arr.shape}")

    u8 = _scale_to_uint8(arr)
    if u8.ndim == 2:
        return np.ascontiguousarray(np.repeat(u8[:, :, None], 3, axis=2))
    if u8.shape[2] == 4:
        rgb = u8[:, :, :3].astype(np.float64)
        a = u8[:, :, 3:4].astype(np.float64) / 255.0
        out = rgb * a + 255.0 * (1.0 - a)
        return np.round(out).astype(np.uint8)
    return np.array(u8, dtype=np.uint8, order="C", copy=True)  # never a view of the caller's data


# --------------------------------------------------------------------------------------------
# shared bits
# --------------------------------------------------------------------------------------------


def _palette(n: int) -> list[RGB]:
    """``n`` distinct qualitative colours: tab10 up to 10, tab20 up to 20, then evenly spaced hues."""
    if n <= 10:
        cmap = plt.get_cmap("tab10")
        return [to_rgb(cmap(i)) for i in range(n)]
    if n <= 20:
        # tab20 pairs a dark and a light shade; take the dark ones first so neighbours differ
        cmap = plt.get_cmap("tab20")
        order = list(range(0, 20, 2)) + list(range(1, 20, 2))
        return [to_rgb(cmap(i)) for i in order[:n]]
    hues = (np.arange(n) * 0.618033988749895) % 1.0  # golden-ratio steps keep neighbours apart
    cols = hsv_to_rgb(np.stack([hues, np.full(n, 0.75), np.full(n, 0.9)], axis=1))
    return [(float(r), float(g), float(b)) for r, g, b in cols]


def _text_colour(bg: RGB) -> str:
    """Black or white, whichever reads better on ``bg``."""
    r, g, b = bg
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _show(ax: Axes, rgb: npt.NDArray[np.uint8], title: str | None) -> None:
    """Draw an RGB array so that pixel (row, col) covers [col, col+1) x [row, row+1); axes off."""
    h, w = rgb.shape[:2]
    ax.imshow(rgb, extent=(0, w, h, 0), interpolation="nearest")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)


def _new_axes(rgb: npt.NDArray[np.uint8], extra_width: float = 0.0) -> Axes:
    """A fresh figure sized to the image's aspect ratio (about 6 inches on the long side)."""
    h, w = rgb.shape[:2]
    scale = 6.0 / max(h, w)
    _, ax = plt.subplots(figsize=(max(w * scale, 2.0) + extra_width, max(h * scale, 2.0) + 0.4), layout="constrained")
    return ax


# --------------------------------------------------------------------------------------------
# image_grid
# --------------------------------------------------------------------------------------------


def image_grid(
    images: Sequence[ImageLike],
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    size: float = 3.0,
    suptitle: str | None = None,
) -> Figure:
    """Show images in a grid, ``ncols`` per row, each ``size`` inches wide, with optional titles.

    Axes are switched off; axes left over in the last row are hidden, so the figure has exactly
    one visible axes per image (``fig.axes[i]`` is image ``i``). ``titles`` must have one entry per
    image. A batch array ``N x H x W x 3`` or a tensor ``N x C x H x W`` works too (it is iterated).

    Example::

        >>> fig = image_grid([img1, img2, img3], titles=["cat", "dog", "car"], ncols=2)
        >>> fig.savefig("grid.png")
    """
    if isinstance(images, (Image.Image, str, bytes)):
        raise TypeError(
            f"images must be a sequence of images; got a single {type(images).__name__} "
            "(for one, use image_grid([image]))"
        )
    items = list(images)
    if not items:
        raise ValueError("images must hold at least one image; got an empty sequence")
    if titles is not None:
        if isinstance(titles, str):
            raise TypeError("titles must be a sequence of strings, one per image; got a single str")
        if len(titles) != len(items):
            raise ValueError(f"titles must have one entry per image: {len(items)} images; got {len(titles)} titles")
    if int(ncols) != ncols or ncols < 1:
        raise ValueError(f"ncols must be a positive integer; got {ncols!r}")
    if not size > 0:
        raise ValueError(f"size must be a positive number of inches; got {size!r}")

    arrays = [to_rgb_array(im) for im in items]
    n = len(arrays)
    cols = min(int(ncols), n)
    rows = -(-n // cols)
    # cells as tall as the tallest image (relative to its width) needs, plus room for a title
    aspect = min(max(a.shape[0] / a.shape[1] for a in arrays), 3.0)
    # about 0.2 inch per line of text at matplotlib's default title size, plus a margin
    lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    title_room = 0.15 + 0.22 * lines if lines else 0.0
    top_room = 0.2 + 0.22 * (suptitle.count("\n") + 1) if suptitle else 0.0
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(size * cols, (size * aspect + title_room) * rows + top_room),
        squeeze=False,
        layout="constrained",
    )
    flat = axes.ravel()
    for ax, arr, i in zip(flat, arrays, range(n), strict=False):
        _show(ax, arr, None if titles is None else str(titles[i]))
    # hide the leftover axes of the last row by removing them, so fig.axes[i] is image i
    for ax in flat[n:]:
        ax.remove()
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


# --------------------------------------------------------------------------------------------
# draw_boxes
# --------------------------------------------------------------------------------------------


def draw_boxes(
    image: ImageLike,
    boxes: npt.ArrayLike | torch.Tensor,
    labels: Sequence[str] | None = None,
    scores: Sequence[float] | npt.ArrayLike | torch.Tensor | None = None,
    *,
    ax: Axes | None = None,
    color_by_label: bool = True,
    linewidth: float = 2.0,
    title: str | None = None,
) -> Axes:
    """Draw boxes ``(x0, y0, x1, y1)`` in pixels over an image, with ``"label 0.93"`` tags.

    Each tag sits on a filled background in the box's colour, above the box (inside it when the
    box touches the top edge). With ``labels`` and ``color_by_label=True`` every distinct label
    gets its own colour from a qualitative colormap (same label, same colour); otherwise all
    boxes share one colour. Boxes reaching outside the image are clipped to it for drawing;
    boxes entirely outside are skipped. ``boxes`` of shape ``(0, 4)`` (no detections) is fine.

    Raises ``ValueError`` when ``boxes`` is not ``(N, 4)``, when a box has ``x1 < x0`` or
    ``y1 < y0`` (boxes in ``x, y, w, h`` form? convert them first), or when ``labels`` / ``scores``
    do not have ``N`` entries.

    Example::

        >>> ax = draw_boxes(img, [[10, 20, 120, 200], [150, 40, 300, 220]],
        ...                 labels=["cat", "dog"], scores=[0.93, 0.71], title="detections")
    """
    rgb = to_rgb_array(image)
    h, w = rgb.shape[:2]
    b = _as_numpy(boxes, "boxes")
    if b.size == 0 and b.ndim <= 2:
        b = b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) as x0, y0, x1, y1 in pixels; got {b.shape}")
    if not np.issubdtype(b.dtype, np.number) or np.issubdtype(b.dtype, np.complexfloating):
        raise TypeError(f"boxes must hold real numbers; got dtype {b.dtype}")
    b = b.astype(np.float64)
    if not np.all(np.isfinite(b)):
        raise ValueError("boxes must be finite; got NaN or inf coordinates")
    n = b.shape[0]
    bad = np.flatnonzero((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1]))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"boxes must be x0, y0, x1, y1 with x1 >= x0 and y1 >= y0; box {i} is "
            f"{b[i].tolist()} (x, y, w, h boxes? convert with x1 = x0 + w, y1 = y0 + h)"
        )

    label_list: list[str] | None = None
    if labels is not None:
        if isinstance(labels, str):
            raise TypeError("labels must be a sequence with one label per box; got a single str")
        label_list = [str(lbl) for lbl in labels]
        if len(label_list) != n:
            raise ValueError(f"labels must have one entry per box: {n} boxes; got {len(label_list)} labels")
    score_arr: npt.NDArray[np.float64] | None = None
    if scores is not None:
        s = _as_numpy(scores, "scores").astype(np.float64).reshape(-1)
        if s.shape[0] != n:
            raise ValueError(f"scores must have one entry per box: {n} boxes; got {s.shape[0]} scores")
        score_arr = s

    if label_list is not None and color_by_label:
        distinct = list(dict.fromkeys(label_list))
        lookup = dict(zip(distinct, _palette(len(distinct)), strict=True))
        colours = [lookup[lbl] for lbl in label_list]
    else:
        colours = [_palette(1)[0]] * n

    if ax is None:
        ax = _new_axes(rgb)
    _show(ax, rgb, title)

    for i in range(n):
        x0, y0, x1, y1 = b[i]
        if x1 < 0 or y1 < 0 or x0 > w or y0 > h:
            continue  # nothing of this box is inside the image
        cx0, cx1 = float(np.clip(x0, 0, w)), float(np.clip(x1, 0, w))
        cy0, cy1 = float(np.clip(y0, 0, h)), float(np.clip(y1, 0, h))
        colour = colours[i]
        ax.add_patch(Rectangle((cx0, cy0), cx1 - cx0, cy1 - cy0, fill=False, edgecolor=colour, linewidth=linewidth))
        parts = []
        if label_list is not None:
            parts.append(label_list[i])
        if score_arr is not None:
            parts.append(f"{score_arr[i]:.2f}")
        if not parts:
            continue
        inside = cy0 < 0.06 * h  # no room above the box: put the tag just inside it
        ax.text(
            cx0,
            cy0,
            " ".join(parts),
            color=_text_colour(colour),
            fontsize=9,
            va="top" if inside else "bottom",
            ha="left",
            bbox={"facecolor": colour, "edgecolor": colour, "boxstyle": "square,pad=0.2", "alpha": 0.9},
        )
    return ax


# --------------------------------------------------------------------------------------------
# overlay_masks
# --------------------------------------------------------------------------------------------


def _class_name(labels: Mapping[int, str] | Sequence[str] | None, cid: int) -> str:
    """Name of class ``cid`` from a mapping or a list (index = class id); ``"class <id>"`` if unknown."""
    if labels is None:
        return f"class {cid}"
    if isinstance(labels, Mapping):
        by_key: Mapping[Any, Any] = labels  # keys may be ints or, from JSON, strings
        name = by_key.get(cid, by_key.get(str(cid)))
        return f"class {cid}" if name is None else str(name)
    return str(labels[cid]) if 0 <= cid < len(labels) else f"class {cid}"


def overlay_masks(
    image: ImageLike,
    masks: npt.ArrayLike | Sequence[npt.ArrayLike] | torch.Tensor,
    labels: Mapping[int, str] | Sequence[str] | None = None,
    *,
    alpha: float = 0.5,
    ax: Axes | None = None,
    legend: bool = True,
    title: str | None = None,
    background: int | None = 0,
) -> Axes:
    """Blend segmentation masks over an image in distinct colours, with a legend.

    ``masks`` is either

    * **instance masks**: ``N`` boolean masks ``H x W`` (a list, an ``N x H x W`` array, an
      ``N x 1 x H x W`` tensor, or one ``H x W`` boolean mask); ``labels`` then names each mask
      (``N`` strings; default ``"mask 0"``, ``"mask 1"``, ...) and each mask gets its own colour and
      legend entry; where masks overlap the later one wins; or
    * **a class map**: one integer ``H x W`` array of class ids; ``labels`` maps class id to name
      (a dict such as ``model.config.id2label``, or a list indexed by id). Pixels of class
      ``background`` (default 0; ``None`` for none) stay uncoloured. The legend lists the
      classes present in the map, background excluded.

    Each coloured pixel becomes ``(1 - alpha) * image + alpha * colour``. Probability masks must
    be thresholded first (``probs > 0.5``). Raises ``ValueError`` when a mask's shape differs
    from the image's ``H x W`` or ``alpha`` is outside ``0..1``.

    Example::

        >>> ax = overlay_masks(img, seg_map, labels={1: "cat", 2: "sofa"}, alpha=0.45)
        >>> ax = overlay_masks(img, [mask_a, mask_b], labels=["person", "dog"])
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in 0..1; got {alpha!r}")
    rgb = to_rgb_array(image)
    h, w = rgb.shape[:2]

    if isinstance(masks, (list, tuple)):
        parts = [_as_numpy(m, "masks") for m in masks]
        for i, m in enumerate(parts):
            if m.shape != (h, w):
                raise ValueError(f"masks must each have the image's shape (H, W) = {(h, w)}; mask {i} has {m.shape}")
        m_arr = np.stack(parts) if parts else np.zeros((0, h, w), dtype=bool)
    else:
        m_arr = _as_numpy(masks, "masks")
        if m_arr.ndim == 4 and m_arr.shape[1] == 1:
            m_arr = m_arr[:, 0]

    class_map = m_arr.ndim == 2 and m_arr.dtype != np.bool_
    if m_arr.ndim == 2 and not class_map:
        m_arr = m_arr[None]
    if m_arr.ndim not in (2, 3):
        raise ValueError(
            f"masks must be N boolean masks (N, H, W) or one integer class map (H, W); got shape {m_arr.shape}"
        )
    if m_arr.shape[-2:] != (h, w):
        raise ValueError(
            f"mask shape must match the image's (H, W) = {(h, w)}; got {m_arr.shape[-2:]} "
            f"(full shape {m_arr.shape}; resize the mask with nearest-neighbour to the image size)"
        )

    colour_layer = np.zeros((h, w, 3), dtype=np.float64)
    covered = np.zeros((h, w), dtype=bool)
    handles: list[Patch] = []

    if class_map:
        if not np.issubdtype(m_arr.dtype, np.integer):
            raise TypeError(
                f"a class map (H, W) must hold integer class ids; got dtype {m_arr.dtype} "
                "(for logits take argmax over classes; for one probability mask use probs > 0.5)"
            )
        present = [int(c) for c in np.unique(m_arr) if background is None or int(c) != background]
        for cid, colour in zip(present, _palette(len(present)), strict=True):
            where = m_arr == cid
            colour_layer[where] = colour
            covered |= where
            handles.append(Patch(facecolor=colour, edgecolor="none", label=_class_name(labels, cid)))
    else:
        if m_arr.dtype != np.bool_:
            if not (np.issubdtype(m_arr.dtype, np.integer) or np.issubdtype(m_arr.dtype, np.floating)):
                raise TypeError(f"instance masks must be boolean; got dtype {m_arr.dtype}")
            if m_arr.size and not np.all((m_arr == 0) | (m_arr == 1)):
                raise ValueError(
                    f"instance masks must be boolean (or 0/1); got {m_arr.dtype} values "
                    f"{float(m_arr.min()):.3g}..{float(m_arr.max()):.3g} (threshold probabilities first: probs > 0.5)"
                )
            m_arr = m_arr.astype(bool)
        n = m_arr.shape[0]
        if labels is not None:
            if isinstance(labels, str) or isinstance(labels, Mapping):
                raise TypeError("for instance masks, labels must be a sequence of N names, one per mask")
            names = [str(lbl) for lbl in labels]
            if len(names) != n:
                raise ValueError(f"labels must have one entry per mask: {n} masks; got {len(names)} labels")
        else:
            names = [f"mask {i}" for i in range(n)]
        for i, colour in enumerate(_palette(n)):
            colour_layer[m_arr[i]] = colour
            covered |= m_arr[i]
            handles.append(Patch(facecolor=colour, edgecolor="none", label=names[i]))

    out = rgb.astype(np.float64)
    out[covered] = (1.0 - alpha) * out[covered] + alpha * 255.0 * colour_layer[covered]
    blended = np.round(out).astype(np.uint8)

    if ax is None:
        ax = _new_axes(rgb, extra_width=1.8 if legend and handles else 0.0)
    _show(ax, blended, title)
    if legend and handles:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            frameon=False,
            fontsize=9,
        )
    return ax


# --------------------------------------------------------------------------------------------
# topk_bars
# --------------------------------------------------------------------------------------------


def _format_score(value: float) -> str:
    """Three decimals; tiny non-zero values in scientific notation so they do not read as 0.000."""
    if value != 0.0 and abs(value) < 0.001:
        return f"{value:.1e}"
    return f"{value:.3f}"


def topk_bars(
    labels: Sequence[str],
    scores: Sequence[float] | npt.ArrayLike | torch.Tensor,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Horizontal bar chart of scores, highest on top, each bar annotated with its value.

    For top-5 class probabilities, sentiment scores, similarity scores and the like. Bars are
    sorted by score (ties keep their order); scores in ``0..1`` get an x axis from 0 to 1,
    other scores (logits, negative similarities) an axis fitted to them.

    Example::

        >>> ax = topk_bars(["tabby", "tiger cat", "Egyptian cat"], [0.62, 0.21, 0.09],
        ...                title="top-3 ImageNet classes")
    """
    if isinstance(labels, str):
        raise TypeError("labels must be a sequence of strings; got a single str")
    names = [str(lbl) for lbl in labels]
    s = _as_numpy(scores, "scores")
    if s.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, one per label; got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise TypeError(f"scores must be real numbers; got dtype {s.dtype}")
    s = s.astype(np.float64)
    if len(names) != s.shape[0]:
        raise ValueError(
            f"labels and scores must have the same length; got {len(names)} labels and {s.shape[0]} scores"
        )
    if not names:
        raise ValueError("topk_bars needs at least one label and score; got none")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite; got NaN or inf")

    order = np.argsort(-s, kind="stable")
    sorted_names = [names[i] for i in order]
    sorted_scores = s[order]
    n = len(names)

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 0.45 * n + 1.2), layout="constrained")
    y = np.arange(n)
    colours = [_palette(1)[0]] * n
    ax.barh(y, sorted_scores, color=colours, height=0.7)
    ax.set_yticks(y, sorted_names)
    ax.invert_yaxis()  # first (highest) bar at the top

    lo, hi = float(min(0.0, sorted_scores.min())), float(max(0.0, sorted_scores.max()))
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    span = hi - lo or 1.0
    ax.set_xlim(lo - (0.15 * span if lo < 0 else 0.0), hi + 0.15 * span)
    pad = 0.01 * span
    for yi, val in zip(y, sorted_scores, strict=True):
        ax.text(
            val + pad if val >= 0 else val - pad,
            float(yi),
            _format_score(float(val)),
            va="center",
            ha="left" if val >= 0 else "right",
            fontsize=9,
        )
    if lo < 0:
        ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("score")
    if title is not None:
        ax.set_title(title)
    return ax
