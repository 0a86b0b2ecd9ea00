"""Loading every kind of input, and the clear errors for bad input."""

from __future__ import annotations

import http.server
import io
import os
import struct
import threading
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from bgocr_nb.errors import ArgumentError, InputError
from bgocr_nb import io as bgio
from bgocr_nb.io import load_image, load_pages


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp", ".webp", ".jp2", ".avif",
                                    ".heic"])
def test_image_formats(tmp_path, page, suffix):
    path = tmp_path / f"page{suffix}"
    if suffix == ".heic":
        pytest.importorskip("pillow_heif", reason="the [heic] extra writes and reads HEIC"
                            ).register_heif_opener()
    Image.fromarray(page).convert("RGB" if suffix in (".avif", ".heic") else "L").save(
        path, **({"quality": 95} if suffix in (".avif", ".heic") else {}))
    img = load_image(path)  # WebP, AVIF and HEIC come back as RGB
    gray = img.astype(float) if img.ndim == 2 else img.mean(axis=2)
    assert gray.shape == page.shape and img.dtype == np.uint8
    assert np.abs(gray - page).mean() < 3


def test_a_heic_photo_without_pillow_heif_says_what_to_install(tmp_path, page, monkeypatch):
    pytest.importorskip("pillow_heif", reason="the [heic] extra writes the HEIC file"
                        ).register_heif_opener()
    Image.fromarray(page).convert("RGB").save(tmp_path / "photo.heic")
    data = (tmp_path / "photo.heic").read_bytes()
    monkeypatch.setattr(bgio, "_heif_opener", lambda: False)  # as if it were not installed
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "HEIF"])
    with pytest.raises(InputError, match=r"HEIC/HEIF.*pip install 'bgocr-nb\[heic\]'"):
        list(load_pages(data))


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
@pytest.mark.parametrize("orientation, quarter_turns", [(6, 1), (3, 2), (8, 3)])
def test_photos_load_the_way_viewers_show_them(tmp_path, suffix, orientation, quarter_turns):
    # a phone stores the sensor's pixels and records the turn in the EXIF
    # Orientation tag; every viewer applies it, and so must we
    upright = np.full((60, 100), 230, np.uint8)
    upright[5:20, 5:40] = 20  # a dark block at the top left
    stored = np.ascontiguousarray(np.rot90(upright, quarter_turns))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(stored).save(path, exif=exif, **({"quality": 95} if suffix == ".jpg" else {}))
    img = load_image(path)
    gray = img if img.ndim == 2 else img.mean(axis=2)
    assert gray.shape == upright.shape
    assert np.abs(gray.astype(float) - upright).mean() < 3


def test_multipage_tiff_and_pdf(tmp_path, page):
    frames = [Image.fromarray(page), Image.fromarray(255 - page)]
    frames[0].save(tmp_path / "two.tif", save_all=True, append_images=frames[1:])
    pages = list(load_pages(tmp_path / "two.tif"))
    assert [p.index for p in pages] == [0, 1]
    assert pages[1].image.mean() < pages[0].image.mean()

    frames[0].save(tmp_path / "two.pdf", save_all=True, append_images=frames[1:], resolution=100)
    pdf = list(load_pages(tmp_path / "two.pdf", dpi=200))
    assert len(pdf) == 2
    assert pdf[0].image.shape[1] == pytest.approx(page.shape[1] * 2, abs=2)


@pytest.mark.parametrize("suffix, declared, expected", [
    (".png", 300, 300), (".tif", 200, 200), (".jpg", 600, 600),
    (".png", 72, None),   # a camera's or screen's default says nothing about the page
    (".png", None, None),
])
def test_declared_resolution(tmp_path, page, suffix, declared, expected):
    path = tmp_path / f"p{suffix}"
    Image.fromarray(page).save(path, **({"dpi": (declared, declared)} if declared else {}))
    (loaded,) = load_pages(path)
    assert loaded.dpi == expected
    (pdf,) = load_pages(_one_page_pdf(tmp_path, page), dpi=150)
    assert pdf.dpi == 150


@pytest.mark.parametrize("declared, orientation, shape, dpi", [
    ((204, 98), 1, (125, 100), 204),   # a fax at standard resolution: rows twice as coarse
    ((98, 204), 1, (60, 208), 204),    # ... the other way round
    ((204, 196), 1, (62, 100), 204),   # fine mode: 4 % off square
    ((300, 299), 1, (60, 100), 300),   # within 1 %: square
    ((400, 50), 1, (60, 100), 400),    # 8 to 1: a bad header, left alone
    ((204, 98), 6, (100, 125), 204),   # stored sideways: the turn swaps the axes
])
@pytest.mark.parametrize("suffix", [".tif", ".png"])  # Pillow turns a TIFF as it loads it
def test_pages_get_square_pixels(tmp_path, declared, orientation, shape, dpi, suffix):
    stored = np.full((60, 100), 255, np.uint8)
    stored[20:40, 30:70] = 0
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"fax{suffix}"
    Image.fromarray(stored).save(path, dpi=declared, exif=exif)
    (loaded,) = load_pages(path)
    assert loaded.image.shape == shape and loaded.dpi == dpi
    box = loaded.image < 128  # the block keeps its place in the stretched page
    rows, cols = np.flatnonzero(box.any(axis=1)), np.flatnonzero(box.any(axis=0))
    upright = shape if orientation == 1 else shape[::-1]
    along = (rows, cols) if orientation == 1 else (cols, rows)
    assert along[0][0] == pytest.approx(20 / 60 * upright[0], abs=2)
    assert along[1][0] == pytest.approx(30 / 100 * upright[1], abs=2)


def test_square_pixels_count_against_the_pixel_limit(tmp_path):
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "fax.tif", dpi=(400, 100))
    with pytest.raises(InputError, match="40000x100|100x400.*once its pixels are made square"):
        list(load_pages(tmp_path / "fax.tif", max_pixels=30_000))


def _one_page_pdf(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "one.pdf", resolution=100)
    return tmp_path / "one.pdf"


def test_arrays_pil_and_bytes(page):
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, format="PNG")
    assert load_image(buf.getvalue()).shape == page.shape
    assert load_image(Image.fromarray(page).convert("RGBA")).shape == page.shape + (3,)
    assert load_image(page / 255.0).max() == 255            # float in [0, 1]
    assert load_image(page > 128).dtype == np.uint8          # bool
    rgba = np.dstack([page, page, page, np.zeros_like(page)])
    assert load_image(rgba).min() == 255                     # transparent becomes white


@pytest.mark.parametrize("mode", ["I;16", "F", "1", "P", "CMYK", "LA"])
def test_unusual_modes(tmp_path, page, mode):
    if mode == "I;16":
        img = Image.fromarray(page.astype(np.uint16) * 257)
    elif mode == "F":
        img = Image.fromarray(page.astype(np.float32) / 255.0)
    else:
        img = Image.fromarray(page).convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".tif"
    img.save(tmp_path / f"x{suffix}")
    out = load_image(tmp_path / f"x{suffix}")
    gray = out.astype(float) if out.ndim == 2 else out.mean(axis=2)
    assert np.abs(gray - page).mean() < 8


def test_errors(tmp_path, page):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="is a folder"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("hello, not an image")
    with pytest.raises(InputError, match="not an image"):
        load_image(tmp_path / "text.png")
    ok, png = cv2.imencode(".png", page)
    (tmp_path / "cut.png").write_bytes(png.tobytes()[: len(png) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_image(tmp_path / "cut.png")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 nonsense")
    with pytest.raises(InputError, match="cannot open the PDF"):
        load_image(tmp_path / "bad.pdf")
    with pytest.raises(ArgumentError, match="only http"):
        load_image("file:///etc/passwd")
    with pytest.raises(ArgumentError, match="must be"):
        load_image(np.zeros((2, 2, 7)))


def test_decompression_bomb_limit_and_override(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "p.png")
    with pytest.raises(InputError, match="too large.*max_pixels"):
        load_image(tmp_path / "p.png", max_pixels=10_000)
    assert load_image(tmp_path / "p.png", max_pixels=page.size).shape == page.shape


@pytest.fixture
def server(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "page.png")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_urls(server, page):
    assert load_image(f"{server}/page.png").shape == page.shape
    with pytest.raises(InputError, match="404"):
        load_image(f"{server}/nope.png")
    with pytest.raises(InputError, match="download limit"):
        load_image(f"{server}/page.png", max_bytes=100)


def test_corrupt_middle_page_of_tiff_keeps_the_others(tmp_path, page):
    frames = [Image.fromarray(page), Image.fromarray(255 - page), Image.fromarray(page[::-1])]
    frames[0].save(tmp_path / "three.tif", save_all=True, append_images=frames[1:],
                   compression="tiff_deflate")
    data = bytearray((tmp_path / "three.tif").read_bytes())
    # find the second frame's compressed strip and overwrite it with garbage
    img = Image.open(tmp_path / "three.tif")
    img.seek(1)
    offset = img.tag_v2[273][0]
    data[offset: offset + 200] = bytes(range(200))
    (tmp_path / "bad.tif").write_bytes(bytes(data))
    pages = list(load_pages(tmp_path / "bad.tif"))
    assert [p.index for p in pages] == [0, 1, 2]
    assert pages[0].ok and pages[2].ok and not pages[1].ok
    assert "page 2 of 3 is corrupt" in str(pages[1].error)
    assert np.array_equal(pages[2].image, page[::-1])


def test_fsspec_protocols_must_be_enabled(page):
    import fsspec

    buf = io.BytesIO()
    Image.fromarray(page).save(buf, format="PNG")
    with fsspec.open("memory://scans/p.png", "wb") as fh:
        fh.write(buf.getvalue())
    with pytest.raises(ArgumentError, match="only http"):
        load_image("memory://scans/p.png")
    assert load_image("memory://scans/p.png", protocols=("memory",)).shape == page.shape


def test_url_timeout(page):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    try:
        port = listener.getsockname()[1]
        with pytest.raises(InputError, match="cannot download"):
            load_image(f"http://127.0.0.1:{port}/p.png", timeout=0.5)
    finally:
        listener.close()


def test_truncated_jpeg_and_zero_page_pdf(tmp_path, page):
    import pypdfium2 as pdfium

    ok, jpg = cv2.imencode(".jpg", page)
    (tmp_path / "cut.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 3])
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_image(tmp_path / "cut.jpg")
    empty = pdfium.PdfDocument.new()
    empty.save(str(tmp_path / "empty.pdf"))
    # PDFium refuses a document without pages at opening, with the error "Success"
    with pytest.raises(InputError, match="the PDF has no pages") as err:
        load_image(tmp_path / "empty.pdf")
    assert "Success" not in str(err.value)
    (tmp_path / "bare.pdf").write_bytes(_pdf_without_pages())  # PDFium says "Success" here
    with pytest.raises(InputError, match="the PDF has no pages"):
        load_image(tmp_path / "bare.pdf")


def _pdf_without_pages() -> bytes:
    """A minimal PDF whose page tree is empty, with a correct cross-reference table."""
    objects = [b"<< /Pages 2 0 R /Type /Catalog >>", b"<< /Count 0 /Kids [ ] /Type /Pages >>"]
    out = bytearray(b"%PDF-1.3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer << /Root 1 0 R /Size 3 >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _tiff_with_next_pointer(tmp_path, page, frame, pointer):
    """A three-page TIFF whose frame ``frame`` says the next one is at byte ``pointer``."""
    frames = [Image.fromarray(page), Image.fromarray(255 - page), Image.fromarray(page[::-1])]
    frames[0].save(tmp_path / "three.tif", save_all=True, append_images=frames[1:])
    data = bytearray((tmp_path / "three.tif").read_bytes())
    assert data[:2] == b"II"
    ifd = struct.unpack_from("<I", data, 4)[0]
    def next_at(ifd):  # where a directory holds the offset of the next one
        return ifd + 2 + 12 * struct.unpack_from("<H", data, ifd)[0]

    for _ in range(frame):
        ifd = struct.unpack_from("<I", data, next_at(ifd))[0]
    struct.pack_into("<I", data, next_at(ifd), pointer(len(data)))
    (tmp_path / "broken.tif").write_bytes(bytes(data))
    return tmp_path / "broken.tif"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's, reading the broken link
def test_broken_frame_chain_keeps_the_pages_before_it(tmp_path, page):
    # page 2 says page 3 lies past the end of the file: the frame count cannot be read
    path = _tiff_with_next_pointer(tmp_path, page, 1, lambda size: size + 1000)
    pages = list(load_pages(path))
    assert [p.index for p in pages] == [0, 1, 2]
    assert pages[0].ok and pages[1].ok and not pages[2].ok
    assert np.array_equal(pages[1].image, 255 - page)
    assert "truncated after page 2" in str(pages[2].error)
    assert isinstance(pages[2].error, InputError)
    # page 1 points into the middle of the pixel data: page 2 cannot be found
    path = _tiff_with_next_pointer(tmp_path, page, 0, lambda size: size // 2 + 1)
    pages = list(load_pages(path))
    assert [p.ok for p in pages] == [True, False]
    assert "page 2 cannot be found" in str(pages[1].error)


def test_devices_and_pipes_are_refused(tmp_path):
    if os.path.exists("/dev/zero"):
        with pytest.raises(InputError, match="not a regular file"):
            load_image("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        with pytest.raises(InputError, match="not a regular file"):
            load_image(tmp_path / "pipe")  # refused before it is opened: no hang


def test_file_size_limit_follows_max_pixels(tmp_path, page, monkeypatch):
    assert bgio.max_file_bytes(bgio.MAX_PIXELS) == 16 * bgio.MAX_PIXELS
    monkeypatch.setattr(bgio, "MIN_FILE_LIMIT", 1000)
    Image.fromarray(page).save(tmp_path / "p.bmp")  # uncompressed: 1 byte a pixel and more
    with pytest.raises(InputError, match="over 1,000 bytes.*max_pixels"):
        load_image(tmp_path / "p.bmp", max_pixels=10)
    assert load_image(tmp_path / "p.bmp", max_pixels=page.size).shape == page.shape
    with pytest.raises(ArgumentError, match="max_pixels"):
        load_image(tmp_path / "p.bmp", max_pixels="many")


@pytest.mark.parametrize("array", [np.array([["a", "b"], ["c", "d"]]), np.zeros((4, 4), complex),
                                   np.zeros((4, 4), object)])
def test_arrays_of_other_than_numbers_are_refused(array):
    with pytest.raises(InputError, match=f"must hold numbers.*got dtype {array.dtype}"):
        load_image(array)


def test_integer_arrays_scale_by_their_range(page):
    assert np.array_equal(load_image(page.astype(np.uint16) * 257), page)
    assert np.array_equal(load_image(page.astype(np.uint32) * 16843009), page)
    rgb16 = np.stack([page.astype(np.uint16) * 257] * 3, axis=-1)
    opaque = np.dstack([rgb16, np.full(page.shape, 65535, np.uint16)])
    assert np.array_equal(load_image(opaque), np.stack([page] * 3, axis=-1))
    assert load_image(np.dstack([rgb16, np.zeros(page.shape, np.uint16)])).min() == 255
    assert np.array_equal(load_image(page.astype(np.int64)), page)  # 0-255 in a wide type
    assert np.array_equal(load_image(page.astype(np.int64) - 300), page)  # stretched
    rgba = np.dstack([np.stack([page.astype(np.float32)] * 3, axis=-1),
                      np.full(page.shape, 255, np.float32)])
    assert np.array_equal(load_image(rgba), np.stack([page] * 3, axis=-1))


def test_all_nan_pages_raise_without_numpy_warnings(tmp_path):
    Image.fromarray(np.full((20, 30), np.nan, np.float32)).save(tmp_path / "nan.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would surface here as an error
        with pytest.raises(InputError, match="no finite pixel values"):
            load_image(tmp_path / "nan.tif")
        with pytest.raises(ArgumentError, match="NaN"):
            load_image(np.full((20, 30), np.nan))
