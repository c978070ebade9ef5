# mypy: disable-error-code="attr-defined, union-attr, arg-type, index, call-overload, list-item, misc, func-returns-value, dict-item"
# (this test feeds libraries values their stubs describe more narrowly than they accept, or wrong types on purpose)
"""Tests for course_utils.plots: figures are rendered with Agg and checked pixel by pixel."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from course_utils.plots import draw_boxes, image_grid, overlay_masks, to_rgb_array, topk_bars  # noqa: E402

torch = pytest.importorskip("torch")

GREY = 128
TAB10 = [tuple(round(c * 255) for c in to_rgb(plt.get_cmap("tab10")(i))) for i in range(10)]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def render(fig: Figure) -> np.ndarray:
    """Draw the figure with Agg and return its pixels as H x W x 3 uint8."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def figure_of(ax: Axes) -> Figure:
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    return fig


def pixel(ax: Axes, pixels: np.ndarray, x: float, y: float) -> np.ndarray:
    """The rendered colour at data point (x, y) of ``ax`` (call after render)."""
    dx, dy = ax.transData.transform((x, y))
    row = pixels.shape[0] - 1 - int(np.floor(dy))
    col = int(np.floor(dx))
    return pixels[row, col].astype(int)


def close_to(actual: np.ndarray, expected: tuple[float, ...] | np.ndarray, tol: int = 3) -> bool:
    return bool(np.all(np.abs(np.asarray(actual, dtype=float) - np.asarray(expected, dtype=float)) <= tol))


def grey_image(h: int = 100, w: int = 100) -> np.ndarray:
    return np.full((h, w, 3), GREY, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# to_rgb_array
# --------------------------------------------------------------------------------------------

RNG = np.random.default_rng(1234)
REF = RNG.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
REF_GREY = RNG.integers(0, 256, size=(7, 9), dtype=np.uint8)


def _rgba(rgb: np.ndarray, alpha: int) -> np.ndarray:
    return np.dstack([rgb, np.full(rgb.shape[:2], alpha, dtype=np.uint8)])


COLOUR_PATHS = {
    "numpy uint8 HxWx3": lambda: REF,
    "numpy float32 0..1": lambda: REF.astype(np.float32) / 255.0,
    "numpy float64 0..1": lambda: REF / 255.0,
    "numpy int64 0..255": lambda: REF.astype(np.int64),
    "numpy RGBA opaque": lambda: _rgba(REF, 255),
    "numpy RGBA float opaque": lambda: _rgba(REF, 255) / 255.0,
    "PIL RGB": lambda: Image.fromarray(REF),
    "PIL RGBA opaque": lambda: Image.fromarray(_rgba(REF, 255)),
    "torch CHW uint8": lambda: torch.from_numpy(REF).permute(2, 0, 1),
    "torch CHW float": lambda: torch.from_numpy(REF).permute(2, 0, 1).float() / 255.0,
    "torch CHW float requires_grad": lambda: (torch.from_numpy(REF).permute(2, 0, 1).float() / 255.0).requires_grad_(),
    "torch CHW RGBA opaque": lambda: torch.from_numpy(_rgba(REF, 255)).permute(2, 0, 1),
}

GREY_PATHS = {
    "numpy HxW uint8": lambda: REF_GREY,
    "numpy HxWx1 uint8": lambda: REF_GREY[:, :, None],
    "numpy HxW float": lambda: REF_GREY / 255.0,
    "PIL L": lambda: Image.fromarray(REF_GREY),
    "torch 1xHxW": lambda: torch.from_numpy(REF_GREY)[None],
    "torch HxW float": lambda: torch.from_numpy(REF_GREY).float() / 255.0,
}


@pytest.mark.parametrize("make", COLOUR_PATHS.values(), ids=COLOUR_PATHS.keys())
def test_every_colour_path_gives_the_same_uint8_rgb(make) -> None:
    out = to_rgb_array(make())
    assert out.dtype == np.uint8
    assert out.shape == (7, 9, 3)
    np.testing.assert_array_equal(out, REF)


@pytest.mark.parametrize("make", GREY_PATHS.values(), ids=GREY_PATHS.keys())
def test_every_grey_path_repeats_the_grey_over_three_channels(make) -> None:
    out = to_rgb_array(make())
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.repeat(REF_GREY[:, :, None], 3, axis=2))


def test_alpha_is_composited_over_white_the_same_for_numpy_pil_and_torch() -> None:
    rgba = _rgba(REF, 0)
    rgba[0, 0, 3] = 255
    rgba[0, 1, 3] = 128
    from_np = to_rgb_array(rgba)
    from_pil = to_rgb_array(Image.fromarray(rgba))
    from_torch = to_rgb_array(torch.from_numpy(rgba).permute(2, 0, 1))
    np.testing.assert_array_equal(from_np, from_pil)
    np.testing.assert_array_equal(from_np, from_torch)
    assert (from_np[1:] == 255).all()  # fully transparent -> white
    np.testing.assert_array_equal(from_np[0, 0], REF[0, 0])  # opaque -> unchanged
    expected = np.round(REF[0, 1] * (128 / 255) + 255 * (1 - 128 / 255)).astype(np.uint8)
    np.testing.assert_array_equal(from_np[0, 1], expected)


def test_pil_palette_and_la_modes_convert() -> None:
    pal = Image.fromarray(REF).convert("P")
    assert to_rgb_array(pal).shape == (7, 9, 3)
    np.testing.assert_array_equal(to_rgb_array(pal), np.asarray(pal.convert("RGB")))
    la = Image.fromarray(REF_GREY).convert("LA")
    np.testing.assert_array_equal(to_rgb_array(la), np.repeat(REF_GREY[:, :, None], 3, axis=2))


def test_float_values_are_rounded_not_truncated() -> None:
    out = to_rgb_array(np.array([[0.999, 0.2, 1.0004, -0.0004]]))  # tiny overshoot is tolerated and clipped
    np.testing.assert_array_equal(out[0, :, 0], [255, 51, 255, 0])


def test_bool_images_become_black_and_white() -> None:
    mask = np.array([[True, False]])
    np.testing.assert_array_equal(to_rgb_array(mask), [[[255, 255, 255], [0, 0, 0]]])


def test_bfloat16_tensor_converts() -> None:
    t = torch.zeros(3, 2, 2, dtype=torch.bfloat16)
    t[0] = 1.0
    out = to_rgb_array(t)
    np.testing.assert_array_equal(out[..., 0], 255)
    np.testing.assert_array_equal(out[..., 1:], 0)


def test_result_is_a_new_writable_array() -> None:
    out = to_rgb_array(Image.fromarray(REF))  # numpy views of PIL images are read-only; ours must not be
    assert out.flags.writeable
    out[0, 0] = 0
    src = REF.copy()
    out2 = to_rgb_array(src)
    assert out2 is not src and not np.shares_memory(out2, src)
    out2[:] = 0
    np.testing.assert_array_equal(src, REF)


@pytest.mark.parametrize(
    ("bad", "error", "pattern"),
    [
        ([[1, 2], [3, 4]], TypeError, r"expected a PIL image, a numpy array .* got builtins\.list"),
        ("photo.jpg", FileNotFoundError, r"no image file at .*photo\.jpg"),
        (np.zeros((3, 8, 9), np.uint8), ValueError, r"H x W x 3 or H x W x 4; got \(3, 8, 9\) \(channels first\?"),
        (np.zeros((8, 9, 5), np.uint8), ValueError, r"got \(8, 9, 5\)"),
        (np.zeros((2, 8, 9, 3), np.uint8), ValueError, r"H x W, H x W x 3 or H x W x 4; got \(2, 8, 9, 3\)"),
        (np.zeros((0, 9, 3), np.uint8), ValueError, r"at least one pixel; got shape \(0, 9, 3\)"),
        (np.full((4, 4), 2.0), ValueError, r"float images must hold values in 0\.\.1; got values 2\.\.2"),
        (np.full((4, 4), -0.5), ValueError, r"undo the normalisation"),
        (np.array([[0.5, np.nan]]), ValueError, r"finite"),
        (np.full((4, 4), 300, np.int64), ValueError, r"0\.\.255; got int64 with values 300\.\.300"),
        (np.full((4, 4), 1 + 1j), TypeError, r"dtype must be uint8, bool, integer or float; got complex128"),
    ],
    ids=["list", "str", "numpy-CHW", "5-channels", "4d", "empty", "float>1", "normalised", "nan", "int>255", "complex"],
)
def test_to_rgb_array_rejects_bad_input_with_a_clear_message(bad, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        to_rgb_array(bad)


def test_to_rgb_array_rejects_bad_tensors_and_pil_modes() -> None:
    with pytest.raises(ValueError, match=r"C x H x W with C = 1, 3 or 4; got \(8, 9, 3\) .*permute\(2, 0, 1\)"):
        to_rgb_array(torch.zeros(8, 9, 3))
    with pytest.raises(ValueError, match=r"got a batch \(1, 3, 8, 9\) \(take one image: tensor\[0\]\)"):
        to_rgb_array(torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match=r"C x H x W or H x W; got \(5,\)"):
        to_rgb_array(torch.zeros(5))
    with pytest.raises(TypeError, match=r"mode 'I;16'"):
        to_rgb_array(Image.new("I;16", (4, 4)))
    with pytest.raises(TypeError, match=r"mode 'F'"):
        to_rgb_array(Image.new("F", (4, 4)))


def test_module_does_not_import_torch() -> None:
    path = Path(__file__).resolve().parent.parent / "course_utils" / "plots.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('plots_alone', {str(path)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "import numpy as np\n"
        "assert mod.to_rgb_array(np.zeros((2, 2))).shape == (2, 2, 3)\n"
        "assert 'torch' not in sys.modules, 'plots imported torch'\n"
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------
# image_grid
# --------------------------------------------------------------------------------------------

COLOURS = [(230, 25, 25), (25, 200, 25), (25, 25, 230), (240, 200, 20), (200, 30, 200)]


def solid(colour: tuple[int, int, int], h: int = 30, w: int = 40) -> np.ndarray:
    return np.broadcast_to(np.array(colour, dtype=np.uint8), (h, w, 3)).copy()


def test_image_grid_has_one_visible_axes_per_image_with_titles_and_pixels() -> None:
    images = [solid(c) for c in COLOURS]
    titles = ["red", "green", "blue", "yellow", "magenta"]
    fig = image_grid(images, titles=titles, ncols=3, suptitle="five colours")
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(images) == len(fig.axes)
    assert [ax.get_title() for ax in fig.axes] == titles
    assert all(not ax.axison for ax in fig.axes)  # axes off
    assert fig.get_suptitle() == "five colours"

    pixels = render(fig)
    # layout: two rows, three then two; row-major order
    ys = [ax.get_position().y0 for ax in fig.axes]
    xs = [ax.get_position().x0 for ax in fig.axes]
    assert ys[0] == pytest.approx(ys[1]) == pytest.approx(ys[2])
    assert ys[3] == pytest.approx(ys[4])
    assert ys[3] < ys[0]
    assert xs[0] < xs[1] < xs[2] and xs[3] == pytest.approx(xs[0])
    for ax, colour in zip(fig.axes, COLOURS, strict=True):
        assert close_to(pixel(ax, pixels, 20, 15), colour)
    # where a sixth image would be, the figure is blank (the unused axes is hidden)
    x_centre = (fig.axes[2].get_position().x0 + fig.axes[2].get_position().x1) / 2
    y_centre = (fig.axes[3].get_position().y0 + fig.axes[3].get_position().y1) / 2
    row = int((1 - y_centre) * pixels.shape[0])
    col = int(x_centre * pixels.shape[1])
    assert close_to(pixels[row, col], (255, 255, 255), tol=0)


def test_image_grid_without_titles_and_mixed_inputs() -> None:
    images = [solid(COLOURS[0]), Image.fromarray(solid(COLOURS[1])), solid(COLOURS[2]) / 255.0]
    fig = image_grid(images)
    assert len(fig.axes) == 3
    assert all(ax.get_title() == "" for ax in fig.axes)
    assert fig.get_suptitle() == ""
    pixels = render(fig)
    # one row: ncols is capped at the number of images
    assert len({round(ax.get_position().y0, 6) for ax in fig.axes}) == 1
    for ax, colour in zip(fig.axes, COLOURS[:3], strict=True):
        assert close_to(pixel(ax, pixels, 20, 15), colour)


def test_image_grid_accepts_a_batch_array_and_tensor() -> None:
    batch = np.stack([solid(c) for c in COLOURS[:4]])
    assert len(image_grid(batch, ncols=2).axes) == 4
    tbatch = torch.from_numpy(batch).permute(0, 3, 1, 2)
    assert len(image_grid(tbatch, ncols=4).axes) == 4


@pytest.mark.parametrize("n", [3, 6])
@pytest.mark.parametrize("lines", [1, 2, 3])
@pytest.mark.parametrize("suptitle", ["a suptitle", "a suptitle\nof two lines"])
def test_image_grid_titles_of_several_lines_overlap_nothing(n: int, lines: int, suptitle: str) -> None:
    """Each title fits between its image and the image (or the suptitle) above it, whatever its line count."""
    titles = ["\n".join([f"image {i}, a title line"] * lines) for i in range(n)]
    images = [solid(COLOURS[i % 5], 224, 224) for i in range(n)]
    fig = image_grid(images, titles=titles, ncols=3, size=3.4, suptitle=suptitle)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    top = fig._suptitle.get_window_extent(renderer)  # type: ignore[union-attr]
    for k, ax in enumerate(fig.axes):
        title = ax.title.get_window_extent(renderer)
        image = ax.get_images()[0].get_window_extent(renderer)
        above = top if k < 3 else fig.axes[k - 3].get_images()[0].get_window_extent(renderer)
        assert title.y0 >= image.y1, (k, title, image)  # not over its own image
        assert title.y1 <= above.y0, (k, title, above)  # not over what is above it
    plt.close(fig)


def test_image_grid_figure_size_follows_ncols_and_size() -> None:
    fig = image_grid([solid(c, 40, 40) for c in COLOURS], ncols=2, size=2.0)
    width, height = fig.get_size_inches()
    assert width == pytest.approx(4.0)
    assert height == pytest.approx(6.0)  # 3 rows of square images, no titles


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"images": [REF, REF], "titles": ["only one"]}, ValueError, r"one entry per image: 2 images; got 1 titles"),
        ({"images": [REF], "titles": "abc"}, TypeError, r"titles must be a sequence of strings"),
        ({"images": []}, ValueError, r"at least one image; got an empty sequence"),
        ({"images": [REF], "ncols": 0}, ValueError, r"ncols must be a positive integer; got 0"),
        ({"images": [REF], "size": -1.0}, ValueError, r"size must be a positive number of inches; got -1\.0"),
        ({"images": Image.fromarray(REF)}, TypeError, r"sequence of images; got a single Image"),
        ({"images": [REF, np.zeros((3, 4, 5))]}, ValueError, r"got \(3, 4, 5\)"),
    ],
)
def test_image_grid_errors(kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        image_grid(**kwargs)


# --------------------------------------------------------------------------------------------
# draw_boxes
# --------------------------------------------------------------------------------------------


def test_draw_boxes_colours_the_edge_and_leaves_the_centre_grey() -> None:
    ax = draw_boxes(grey_image(), [[20, 20, 80, 80]], linewidth=3.0)
    pixels = render(figure_of(ax))
    box_colour = TAB10[0]
    for x, y in [(50, 20), (50, 80), (20, 50), (80, 50), (20, 20), (80, 80)]:
        assert close_to(pixel(ax, pixels, x, y), box_colour, tol=25), (x, y)
    for x, y in [(50, 50), (30, 30), (70, 70), (10, 10), (90, 90), (50, 5), (95, 50)]:
        assert close_to(pixel(ax, pixels, x, y), (GREY,) * 3, tol=0), (x, y)
    # the image fills the axes exactly: pixel (row, col) covers [col, col + 1)
    assert ax.get_xlim() == (0.0, 100.0)
    assert ax.get_ylim() == (100.0, 0.0)
    assert not ax.axison


def test_pixel_convention_pixel_row_col_covers_col_to_col_plus_one() -> None:
    img = grey_image(4, 4)
    img[0, 0] = (255, 0, 0)
    img[3, 2] = (0, 0, 255)
    ax = draw_boxes(img, [[3, 3, 4, 4]], linewidth=3.0)
    fig = figure_of(ax)
    fig.set_size_inches(4, 4)
    pixels = render(fig)
    assert close_to(pixel(ax, pixels, 0.15, 0.15), (255, 0, 0), tol=0)
    assert close_to(pixel(ax, pixels, 0.85, 0.85), (255, 0, 0), tol=0)
    assert close_to(pixel(ax, pixels, 1.15, 1.15), (GREY,) * 3, tol=0)
    assert close_to(pixel(ax, pixels, 2.5, 3.5), (0, 0, 255), tol=0)  # x = column 2, y = row 3
    assert close_to(pixel(ax, pixels, 3.5, 2.5), (GREY,) * 3, tol=0)
    assert close_to(pixel(ax, pixels, 3.5, 3.0), TAB10[0], tol=40)  # the box's top edge is at y = 3


def test_draw_boxes_tags_text_and_colour_per_distinct_label() -> None:
    boxes = [[10, 30, 40, 60], [50, 30, 90, 60], [10, 70, 40, 95]]
    ax = draw_boxes(grey_image(), boxes, labels=["cat", "dog", "cat"], scores=[0.93, 0.714, 0.5], title="dets")
    assert ax.get_title() == "dets"
    assert [t.get_text() for t in ax.texts] == ["cat 0.93", "dog 0.71", "cat 0.50"]
    edges = [to_rgb(p.get_edgecolor()) for p in ax.patches]
    assert edges[0] == edges[2] != edges[1]
    # each tag's filled background has its box's colour
    fills = [to_rgb(t.get_bbox_patch().get_facecolor()) for t in ax.texts]
    assert fills == edges
    pixels = render(figure_of(ax))
    assert close_to(pixel(ax, pixels, 25, 60), TAB10[0], tol=25)  # a cat box edge
    assert close_to(pixel(ax, pixels, 70, 60), TAB10[1], tol=25)  # the dog box edge
    assert close_to(pixel(ax, pixels, 25, 95), TAB10[0], tol=25)  # the other cat box


def test_draw_boxes_single_colour_when_not_by_label_and_tag_variants() -> None:
    boxes = [[10, 30, 40, 60], [50, 30, 90, 60]]
    ax = draw_boxes(grey_image(), boxes, labels=["cat", "dog"], color_by_label=False)
    assert len({to_rgb(p.get_edgecolor()) for p in ax.patches}) == 1
    assert [t.get_text() for t in ax.texts] == ["cat", "dog"]
    ax2 = draw_boxes(grey_image(), boxes, scores=np.array([0.25, 1.0]))
    assert [t.get_text() for t in ax2.texts] == ["0.25", "1.00"]
    ax3 = draw_boxes(grey_image(), boxes)
    assert len(ax3.texts) == 0 and len(ax3.patches) == 2


def test_draw_boxes_tag_goes_inside_a_box_at_the_top_edge() -> None:
    ax = draw_boxes(grey_image(), [[10, 0, 50, 50], [10, 50, 50, 90]], labels=["top", "low"])
    assert [t.get_va() for t in ax.texts] == ["top", "bottom"]


def test_draw_boxes_clips_to_the_image_and_skips_boxes_outside() -> None:
    boxes = [[-20, -10, 50, 40], [60, 70, 200, 300], [150, 150, 180, 180]]
    ax = draw_boxes(grey_image(), boxes, labels=["a", "b", "gone"])
    rects = [(p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in ax.patches]
    assert rects == [(0.0, 0.0, 50.0, 40.0), (60.0, 70.0, 40.0, 30.0)]
    assert [t.get_text() for t in ax.texts] == ["a", "b"]
    assert ax.get_xlim() == (0.0, 100.0) and ax.get_ylim() == (100.0, 0.0)
    pixels = render(figure_of(ax))
    assert close_to(pixel(ax, pixels, 50, 20), TAB10[0], tol=25)  # right edge of the clipped box
    assert close_to(pixel(ax, pixels, 25, 20), (GREY,) * 3, tol=0)  # its inside


def test_draw_boxes_accepts_tensors_empty_boxes_and_an_existing_axes() -> None:
    fig, axes = plt.subplots(1, 2)
    boxes, scores = torch.tensor([[1.0, 2.0, 10.0, 12.0]]), torch.tensor([0.9])
    out = draw_boxes(torch.zeros(3, 20, 20), boxes, ["x"], scores, ax=axes[1])
    assert out is axes[1]
    assert [t.get_text() for t in out.texts] == ["x 0.90"]
    assert len(axes[0].patches) == 0
    assert len(draw_boxes(grey_image(), []).patches) == 0
    assert len(draw_boxes(grey_image(), np.zeros((0, 4))).patches) == 0
    assert len(draw_boxes(grey_image(), torch.zeros(0, 4), labels=[], scores=[]).texts) == 0


@pytest.mark.parametrize(
    ("boxes", "kwargs", "error", "pattern"),
    [
        (
            np.zeros((3, 5)),
            {},
            ValueError,
            r"^boxes must have shape \(N, 4\) as x0, y0, x1, y1 in pixels; got \(3, 5\)$",
        ),
        ([10, 10, 20, 20], {}, ValueError, r"shape \(N, 4\) .* got \(4,\)"),
        ([[10, 10, 5, 20]], {}, ValueError, r"x1 >= x0 and y1 >= y0; box 0 is \[10\.0, 10\.0, 5\.0, 20\.0\]"),
        ([[0, 0, 5, 5], [10, 30, 20, 20]], {}, ValueError, r"box 1 is .*x, y, w, h boxes\?"),
        ([[0, 0, 5, np.nan]], {}, ValueError, r"boxes must be finite"),
        ([["a", "b", "c", "d"]], {}, TypeError, r"boxes must hold real numbers; got dtype <U1"),
        ([[0, 0, 5, 5]], {"labels": ["a", "b"]}, ValueError, r"one entry per box: 1 boxes; got 2 labels"),
        ([[0, 0, 5, 5]], {"labels": "cat"}, TypeError, r"got a single str"),
        ([[0, 0, 5, 5]], {"scores": [0.1, 0.2]}, ValueError, r"one entry per box: 1 boxes; got 2 scores"),
    ],
)
def test_draw_boxes_errors(boxes, kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        draw_boxes(grey_image(), boxes, **kwargs)


# --------------------------------------------------------------------------------------------
# overlay_masks
# --------------------------------------------------------------------------------------------


def quadrant_mask(h: int = 100, w: int = 100) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    mask[: h // 2, : w // 2] = True
    return mask


def blend(colour: tuple[int, ...], alpha: float, base: int = GREY) -> np.ndarray:
    return np.round((1 - alpha) * base + alpha * np.array(colour, dtype=float))


def test_overlay_colours_the_masked_quadrant_only() -> None:
    ax = overlay_masks(grey_image(), [quadrant_mask()], labels=["person"], alpha=0.5)
    pixels = render(figure_of(ax))
    assert close_to(pixel(ax, pixels, 25, 25), blend(TAB10[0], 0.5))
    for x, y in [(75, 25), (25, 75), (75, 75)]:
        assert close_to(pixel(ax, pixels, x, y), (GREY,) * 3, tol=0), (x, y)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["person"]


@pytest.mark.parametrize("alpha", [0.0, 0.25, 1.0])
def test_overlay_alpha_sets_the_blend(alpha: float) -> None:
    ax = overlay_masks(grey_image(), quadrant_mask(), alpha=alpha, legend=False)
    assert ax.get_legend() is None
    pixels = render(figure_of(ax))
    assert close_to(pixel(ax, pixels, 25, 25), blend(TAB10[0], alpha))
    assert close_to(pixel(ax, pixels, 75, 75), (GREY,) * 3, tol=0)


def test_overlay_instance_masks_default_names_own_colours_and_later_wins() -> None:
    a = np.zeros((100, 100), dtype=bool)
    a[:60, :60] = True
    b = np.zeros((100, 100), dtype=bool)
    b[40:, 40:] = True
    ax = overlay_masks(grey_image(), np.stack([a, b]), alpha=1.0, title="two")
    assert ax.get_title() == "two"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mask 0", "mask 1"]
    handles = ax.get_legend().legend_handles
    assert [tuple(round(c * 255) for c in to_rgb(h.get_facecolor())) for h in handles] == [TAB10[0], TAB10[1]]
    pixels = render(figure_of(ax))
    assert close_to(pixel(ax, pixels, 20, 20), TAB10[0])
    assert close_to(pixel(ax, pixels, 80, 80), TAB10[1])
    assert close_to(pixel(ax, pixels, 50, 50), TAB10[1])  # overlap: the later mask is on top
    assert close_to(pixel(ax, pixels, 80, 20), (GREY,) * 3, tol=0)


def test_overlay_class_map_legend_lists_exactly_the_classes_present() -> None:
    cmap = np.zeros((100, 100), dtype=np.int64)
    cmap[:50, 50:] = 2
    cmap[50:, :50] = 5
    names = {0: "background", 1: "never here", 2: "cat", 5: "sofa", 9: "plane"}
    ax = overlay_masks(grey_image(), cmap, labels=names, alpha=0.6)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat", "sofa"]
    pixels = render(figure_of(ax))
    cat, sofa = pixel(ax, pixels, 75, 25), pixel(ax, pixels, 25, 75)
    assert close_to(cat, blend(TAB10[0], 0.6))
    assert close_to(sofa, blend(TAB10[1], 0.6))
    for x, y in [(25, 25), (75, 75)]:  # background stays untouched
        assert close_to(pixel(ax, pixels, x, y), (GREY,) * 3, tol=0)


def test_overlay_class_map_background_none_and_list_labels_and_unknown_ids() -> None:
    cmap = np.zeros((100, 100), dtype=np.uint8)
    cmap[:50, :50] = 1
    cmap[50:, 50:] = 7
    ax = overlay_masks(grey_image(), cmap, labels=["road", "car"], background=None, alpha=1.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["road", "car", "class 7"]
    pixels = render(figure_of(ax))
    assert close_to(pixel(ax, pixels, 75, 25), TAB10[0])  # class 0 is coloured now
    ax2 = overlay_masks(grey_image(), cmap, labels={"1": "car"}, background=0)  # JSON-style keys
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == ["car", "class 7"]
    ax3 = overlay_masks(grey_image(), cmap, background=7)
    assert [t.get_text() for t in ax3.get_legend().get_texts()] == ["class 0", "class 1"]


def test_overlay_accepts_tensor_masks_n1hw_and_01_integers_and_pil_image() -> None:
    masks = torch.from_numpy(quadrant_mask())[None, None].repeat(2, 1, 1, 1)  # N x 1 x H x W
    ax = overlay_masks(Image.fromarray(grey_image()), masks, labels=["a", "b"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    ax2 = overlay_masks(grey_image(), quadrant_mask()[None].astype(np.uint8), alpha=1.0)
    pixels = render(figure_of(ax2))
    assert close_to(pixel(ax2, pixels, 25, 25), TAB10[0])
    assert overlay_masks(grey_image(), []).get_legend() is None  # nothing to show


def test_overlay_into_an_existing_axes() -> None:
    fig, axes = plt.subplots(1, 2)
    out = overlay_masks(grey_image(), quadrant_mask(), ax=axes[0])
    assert out is axes[0] and len(fig.axes) == 2


@pytest.mark.parametrize(
    ("masks", "kwargs", "error", "pattern"),
    [
        (np.zeros((50, 100), bool), {}, ValueError, r"match the image's \(H, W\) = \(100, 100\); got \(50, 100\)"),
        ([np.zeros((100, 100), bool), np.zeros((100, 99), bool)], {}, ValueError, r"mask 1 has \(100, 99\)"),
        (np.zeros((80, 80), np.int64), {}, ValueError, r"\(H, W\) = \(100, 100\); got \(80, 80\)"),
        (np.zeros((2, 3, 100, 100), bool), {}, ValueError, r"N boolean masks \(N, H, W\) or one integer class map"),
        (np.full((100, 100), 0.3), {}, TypeError, r"integer class ids; got dtype float64"),
        (np.full((1, 100, 100), 0.7), {}, ValueError, r"threshold probabilities first: probs > 0\.5"),
        (np.zeros((2, 100, 100), bool), {"labels": ["one"]}, ValueError, r"one entry per mask: 2 masks; got 1"),
        (np.zeros((2, 100, 100), bool), {"labels": {1: "a"}}, TypeError, r"sequence of N names"),
        (quadrant_mask(), {"alpha": 1.5}, ValueError, r"alpha must be in 0\.\.1; got 1\.5"),
    ],
)
def test_overlay_errors(masks, kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        overlay_masks(grey_image(), masks, **kwargs)


# --------------------------------------------------------------------------------------------
# topk_bars
# --------------------------------------------------------------------------------------------


def bars_top_to_bottom(ax: Axes) -> list[tuple[str, float, str]]:
    """(tick label, bar width, annotation) for each bar, ordered by where it is drawn, top first."""
    fig = figure_of(ax)
    render(fig)
    bars = sorted(ax.patches, key=lambda p: -ax.transData.transform((0, p.get_y() + p.get_height() / 2))[1])
    ticks = {round(t, 6): lbl.get_text() for t, lbl in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}
    texts = {round(t.get_position()[1], 6): t.get_text() for t in ax.texts}
    out = []
    for bar in bars:
        yc = round(bar.get_y() + bar.get_height() / 2, 6)
        out.append((ticks[yc], bar.get_width(), texts[yc]))
    return out


def test_topk_bars_puts_the_largest_on_top_and_annotates_scores() -> None:
    ax = topk_bars(["tiger cat", "tabby", "lynx"], [0.21, 0.62, 0.05], title="top-3")
    assert ax.get_title() == "top-3"
    assert bars_top_to_bottom(ax) == [("tabby", 0.62, "0.620"), ("tiger cat", 0.21, "0.210"), ("lynx", 0.05, "0.050")]
    assert ax.get_xlim()[0] == 0.0 and ax.get_xlim()[1] > 1.0  # probabilities: room for 1.0 and its label
    for text, bar in zip(ax.texts, sorted(ax.patches, key=lambda p: p.get_y()), strict=True):
        assert text.get_position()[0] == pytest.approx(bar.get_width(), abs=0.02)  # next to the bar's end


def test_topk_bars_pixels_top_bar_is_longest() -> None:
    ax = topk_bars(["small", "big"], [0.1, 0.9])
    pixels = render(figure_of(ax))
    bar_colour = TAB10[0]
    # walk along the top and bottom bar centres: the top (big) bar reaches x=0.8, the bottom does not
    assert close_to(pixel(ax, pixels, 0.8, 0), bar_colour, tol=2)
    assert close_to(pixel(ax, pixels, 0.8, 1), (255, 255, 255), tol=0)
    assert close_to(pixel(ax, pixels, 0.05, 1), bar_colour, tol=2)


def test_topk_bars_tiny_negative_ties_and_tensor_scores() -> None:
    ax = topk_bars(["positive", "negative"], torch.tensor([0.9998, 0.0002]))
    assert [t for _, _, t in bars_top_to_bottom(ax)] == ["1.000", "2.0e-04"]
    ax2 = topk_bars(["a", "b", "c"], [-1.5, 3.2, 0.0])
    rows = bars_top_to_bottom(ax2)
    assert [r[0] for r in rows] == ["b", "c", "a"]
    assert ax2.get_xlim()[0] < -1.5 and ax2.get_xlim()[1] > 3.2
    neg = next(t for t in ax2.texts if t.get_text() == "-1.500")
    assert neg.get_ha() == "right"
    ax3 = topk_bars(["first", "second"], [0.5, 0.5])  # ties keep their order
    assert [r[0] for r in bars_top_to_bottom(ax3)] == ["first", "second"]


def test_topk_bars_into_an_existing_axes() -> None:
    fig, ax = plt.subplots()
    assert topk_bars(["a"], [1.0], ax=ax) is ax


@pytest.mark.parametrize(
    ("labels", "scores", "error", "pattern"),
    [
        (["a", "b"], [0.1], ValueError, r"same length; got 2 labels and 1 scores"),
        ([], [], ValueError, r"at least one label and score; got none"),
        (["a"], [[0.1]], ValueError, r"one-dimensional, one per label; got shape \(1, 1\)"),
        (["a"], [float("nan")], ValueError, r"scores must be finite"),
        ("ab", [0.1, 0.2], TypeError, r"got a single str"),
        (["a"], ["high"], TypeError, r"scores must be real numbers; got dtype <U4"),
    ],
)
def test_topk_bars_errors(labels, scores, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        topk_bars(labels, scores)
