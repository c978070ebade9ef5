"""load_image: a course key, a path or a URL; each bad input has its own message and the fix."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from course_utils import images, plots
from course_utils.images import ImageLoadError, UnknownImageError, load_image

matplotlib.use("Agg")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "my photo.png"
    Image.fromarray(np.arange(48 * 32 * 3, dtype=np.uint8).reshape(32, 48, 3)).save(path)
    return path


def test_a_course_key_still_works() -> None:
    assert load_image("chelsea").size == (451, 300)


def test_own_file_by_str_and_path(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_image(photo).size == (48, 32)
    assert load_image(str(photo), mode="L").mode == "L"
    monkeypatch.chdir(photo.parent)
    assert np.array_equal(np.asarray(load_image(photo.name)), np.asarray(Image.open(photo).convert("RGB")))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    Image.new("RGB", (40, 20), "red").save(path, exif=exif)
    assert load_image(path).size == (20, 40)


def test_missing_file_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        load_image("holiday/cat.jpg")
    message = str(err.value)
    assert str(tmp_path / "holiday" / "cat.jpg") in message and f"current folder {tmp_path}" in message
    assert "absolute path" in message


def test_a_folder_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image(tmp_path)


def test_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "page.jpg"
    fake.write_text("<html><body>not a picture</body></html>", encoding="utf-8")
    with pytest.raises(ImageLoadError) as err:
        load_image(fake)
    assert "is not an image that Pillow can read" in str(err.value) and "save it again" in str(err.value)


def test_a_file_that_is_not_an_image_after_ultralytics_is_imported(tmp_path: Path) -> None:
    """ultralytics wraps Image.open and retries with pi_heif, which is not installed: the message stays the same."""
    import ultralytics  # noqa: F401  (its import installs the wrapper)

    fake = tmp_path / "page.jpg"
    fake.write_text("<html><body>not a picture</body></html>", encoding="utf-8")
    with pytest.raises(ImageLoadError, match="is not an image that Pillow can read"):
        load_image(fake)


def test_a_damaged_image(photo: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    Image.open(photo).convert("RGB").resize((400, 300)).save(cut, quality=95)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 3])
    with pytest.raises(ImageLoadError) as err:
        load_image(cut)
    assert "is a damaged image" in str(err.value) and "400x300" in str(err.value)
    assert "again" in str(err.value)


def test_a_typo_of_a_course_key_suggests_the_key() -> None:
    with pytest.raises(UnknownImageError) as err:
        load_image("chelsae")
    message = str(err.value)
    assert "Did you mean 'chelsea'?" in message and "your own picture give its path" in message
    assert isinstance(err.value, KeyError) and not message.startswith("'\"")


def test_a_url_while_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(ImageLoadError) as err:
        load_image("https://example.org/cat.jpg")
    message = str(err.value)
    assert "running offline" in message and "Download the picture first" in message and "give its path" in message


@pytest.fixture
def image_server(photo: Path) -> Iterator[str]:
    body = photo.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/photo.png":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_url_online(image_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for flag in ("COURSE_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    assert load_image(f"{image_server}/photo.png").size == (48, 32)
    with pytest.raises(ImageLoadError, match="HTTP 404"):
        load_image(f"{image_server}/gone.png")


def test_a_url_with_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    for flag in ("COURSE_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens: the connection is refused
    with pytest.raises(ImageLoadError, match="no answer from the network .*download the picture first"):
        load_image(f"http://127.0.0.1:{port}/cat.jpg")


def test_not_a_str_or_path() -> None:
    with pytest.raises(TypeError, match="course image key, a path or a URL"):
        load_image(42)  # type: ignore[arg-type]


def test_plot_helpers_take_a_path(photo: Path) -> None:
    assert plots.to_rgb_array(photo).shape == (32, 48, 3)
    ax = plots.draw_boxes(str(photo), [[1, 1, 20, 20]], labels=["thing"])
    assert np.asarray(ax.get_images()[0].get_array()).shape[:2] == (32, 48)
    fig = plots.image_grid([photo, "chelsea"])
    assert len(fig.axes) == 2
    with pytest.raises(FileNotFoundError, match="no image file at"):
        plots.to_rgb_array(photo.parent / "missing.png")
    assert images.URL_TIMEOUT <= 10


def test_16_bit_pixels_are_kept_or_scaled_never_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 1000, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "scan16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    assert np.array_equal(np.asarray(load_image(path, mode="I")), values.astype(np.int32))  # exact
    gray = np.asarray(load_image(path, mode="L"))
    assert gray.tolist() == [[0, 1, 4, 128, 255]]  # the full 16-bit range onto 0-255
    rgb = np.asarray(load_image(path))
    assert rgb.shape == (1, 5, 3) and (rgb[..., 0] == gray).all()
    tiff = tmp_path / "scan16.tif"
    Image.fromarray(values).save(tiff)
    assert np.array_equal(np.asarray(load_image(tiff, mode="I")), values.astype(np.int32))


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares a huge size in 57 bytes: what a decompression bomb looks like to Pillow's guard."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_a_decompression_bomb_gets_the_course_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "tiny_but_huge.png"
    _png_header_only(bomb, 50_000, 50_000)  # 2.5 gigapixels declared
    assert bomb.stat().st_size < 100
    with pytest.raises(ImageLoadError, match=r"2,500,000,000 pixels.*decompression bombs.*MAX_IMAGE_PIXELS = None"):
        load_image(bomb)
    # Between Pillow's warning and error thresholds it is the same message, not a warning in the output.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    small = tmp_path / "small.png"
    Image.new("L", (12, 12)).save(small)  # 144 pixels: over the limit, under twice the limit
    with pytest.raises(ImageLoadError, match="decompression bombs"):
        load_image(small)


def test_home_folder_in_a_path(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(photo.parent))
    assert load_image(f"~/{photo.name}").size == (48, 32)
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image("~")
