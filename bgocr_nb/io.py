"""Loading pages from files, bytes, arrays, PIL images, URLs and cloud buckets.

Every source becomes a sequence of :class:`Page` objects holding a uint8 gray or
RGB array: multi-page TIFFs give every frame, PDFs every page rendered at
``dpi``. Whatever goes wrong raises :class:`~bgocr_nb.errors.InputError` (or
:class:`~bgocr_nb.errors.MissingDependencyError`) naming the source.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from .errors import ArgumentError, BgocrError, InputError, MissingDependencyError

Source = Union[str, os.PathLike, bytes, np.ndarray, Any]

MAX_PIXELS = 180_000_000   # one page; PIL's bomb check uses the same number
MIN_DPI, MAX_DPI = 10, 4800  # PDF rendering: coarser is unreadable, finer needs gigapixels
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
ORIENTATION = 0x0112        # the EXIF (and TIFF) tag of the turn a viewer applies
SQUARE = 1.01               # resolutions closer than this are taken as square pixels
MAX_ASPECT = 4.0            # ... and ones further apart than this as a bad header
MAX_DOWNLOAD = 200 * 2**20  # bytes read from one URL
BYTES_PER_PIXEL = 16        # a file may hold max_pixels of float RGBA: 16 bytes a pixel
MIN_FILE_LIMIT = 256 * 2**20  # bytes: the file size limit is never below this
URL_TIMEOUT = 30.0          # seconds
CLOUD_PROTOCOLS = ("s3", "gs", "gcs", "az", "abfs", "abfss")
PDF_SUFFIXES = {".pdf"}
_PDF_NO_PAGES = re.compile(rb"/Count\s*0(?![0-9.])")  # an empty page tree
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")  # a page (not /Pages)


@dataclass
class Page:
    """One page of a source.

    Attributes
    ----------
    image : numpy.ndarray
        uint8, (H, W) gray or (H, W, 3) RGB.
    source : str
        Where it came from (a path, URL or ``"<array>"``).
    index : int or None
        0-based page number within the source (None when the whole source failed).
    error : BgocrError or None
        Why this page could not be read (``image`` is then None): a corrupt
        frame of a multi-page file whose other pages still load.
    dpi : float or None
        Resolution, from the file's metadata or the PDF rendering (None: unknown).
        Tesseract is told it, as it is when it reads the file itself. Where a
        file declares two (a fax), its pixels are made square at the finer one.
    """

    image: np.ndarray | None
    source: str
    index: int | None = 0
    error: BgocrError | None = None
    dpi: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(source: Source) -> str:
    """A short name for ``source`` in messages and results."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, np.ndarray):
        return "<array>"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def _read_url(url: str, *, timeout: float, max_bytes: int,
              protocols: tuple[str, ...] = CLOUD_PROTOCOLS) -> bytes:
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("http", "https"):
        req = urllib.request.Request(url, headers={"User-Agent": "bgocr-nb"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                data = resp.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise InputError(f"{url}: the server answered {exc.code} {exc.reason}.") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(f"{url}: cannot download ({reason}).") from None
    elif scheme in protocols:
        try:
            import fsspec
        except ImportError:
            raise MissingDependencyError(
                f"{url}: reading {scheme}:// needs fsspec and its backend: "
                "pip install 'bgocr-nb[cloud]'.") from None
        try:
            with fsspec.open(url, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except ImportError as exc:
            raise MissingDependencyError(f"{url}: {exc}. Install the fsspec backend for "
                                         f"{scheme}:// (s3fs, gcsfs or adlfs).") from None
        except Exception as exc:  # each backend raises its own types
            raise InputError(f"{url}: cannot read ({type(exc).__name__}: {exc}).") from None
    else:
        raise ArgumentError(f"{url}: only http(s) and {', '.join(protocols)} URLs are read; "
                            "give local files as plain paths.")
    if len(data) > max_bytes:
        raise InputError(f"{url}: larger than the {max_bytes // 2**20} MiB download limit.")
    return data


def _from_pil(img: Any, name: str, index: int) -> Page:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        finite = arr[np.isfinite(arr)]  # no reduction over NaN: numpy would warn
        if arr.size and not finite.size:
            raise InputError(f"{name}: page {index + 1} holds no finite pixel values.")
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        arr = np.clip(arr, lo, hi)  # infinities to the ends of the range; NaN stays
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        gray = np.nan_to_num((arr - lo) * scale, nan=255.0)
        return Page(np.clip(gray, 0, 255).astype(np.uint8), name, index)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if mode in ("L", "RGB"):  # already what the filters take: no converted copy
        return Page(np.asarray(img), name, index)
    if mode == "1":
        return Page(np.asarray(img.convert("L")), name, index)
    return Page(np.asarray(img.convert("RGB")), name, index)


def _resolutions(img: Any) -> tuple[float, float] | None:
    """The horizontal and vertical resolution an image file declares, or None."""
    dpi = img.info.get("dpi")
    try:
        x, y = (float(v) for v in (dpi if isinstance(dpi, (tuple, list)) else (dpi, dpi)))
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None


def _declared_dpi(resolution: float | None) -> float | None:
    """A declared resolution if it could be a scan's (100-2400 dpi).

    72 and 96 are what cameras and screens write whatever the page: they say
    nothing about the text's size, so Tesseract is left to estimate it.
    """
    return round(resolution) if resolution and 100 <= resolution <= 2400 else None


def _square_size(width: int, height: int, resolutions: tuple[float, float] | None
                 ) -> tuple[int, int]:
    """The size of a page with square pixels: stretched along its coarser axis
    where the file declares two resolutions (a fax at 204 x 98 dpi has its text
    squashed to half height). Resolutions within ``SQUARE`` of each other are
    square already; ones more than ``MAX_ASPECT`` apart are no scanner's."""
    if resolutions is None:
        return width, height
    x, y = resolutions
    if not SQUARE < max(x, y) / min(x, y) <= MAX_ASPECT:
        return width, height
    return (width, round(height * x / y)) if x > y else (round(width * y / x), height)


def _upright(img: Any) -> Any:
    """The frame the way image viewers show it. Cameras and phones store a photo as
    the sensor saw it and record the turn in its EXIF Orientation tag: a page
    photographed with the phone held upright is stored sideways."""
    from PIL import ImageOps

    if img.getexif().get(ORIENTATION, 1) in (1, None):
        return img  # no copy
    return ImageOps.exif_transpose(img)


def _pages_from_image_bytes(data: bytes, name: str, max_pixels: int) -> Iterator[Page]:
    from PIL import Image, UnidentifiedImageError

    # Pillow's own bomb check (a warning, then an error at twice its limit) is off:
    # every frame's size is checked against max_pixels below, before it is decoded.
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        heif = _is_heif(data)
        try:
            if heif:
                _heif_opener()
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            if heif and not _heif_opener():
                raise InputError(f"{name}: an HEIC/HEIF image (a phone's photo); reading it needs "
                                 "pillow-heif: pip install 'bgocr-nb[heic]'.") from None
            raise InputError(f"{name}: not an image this tool can read (PNG, JPEG, TIFF, BMP, "
                             "WebP, JPEG 2000, AVIF, HEIC, PDF).") from None
        except Exception as exc:  # a decoder meeting malformed data may raise anything
            raise InputError(f"{name}: the image header is corrupt ({exc}).") from None
        with img:
            yield from _frames(img, name, max_pixels, len(data))
    finally:
        Image.MAX_IMAGE_PIXELS = old


def _is_heif(data: bytes) -> bool:
    """Whether ``data`` starts as an HEIF file (HEIC photos): an ISO media ``ftyp`` box."""
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


@functools.cache
def _heif_opener() -> bool:
    """Teach Pillow to open HEIC/HEIF with pillow-heif, where it is installed (once)."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _frame_count(img: Any) -> int | None:
    """How many frames ``img`` has; None when its frame chain is broken."""
    try:
        return int(getattr(img, "n_frames", 1))
    except Exception:  # a directory that cannot be read: walk the frames one by one
        return None


def _frames(img: Any, name: str, max_pixels: int, size: int) -> Iterator[Page]:
    """Every frame of an open image; a frame that cannot be read comes as a failed Page.

    With a broken frame chain the count is unknown: the frames are read until a
    seek fails, and that frame is reported (the frames after it cannot be reached).
    """
    count = _frame_count(img)
    of = f" of {count}" if count else ""
    next_ifd = None  # TIFF: where the current frame says the next one is
    for index in range(count) if count is not None else itertools.count():
        try:
            img.seek(index)
        except Exception as exc:
            if count is None and isinstance(exc, EOFError):
                return  # the end of the chain
            error = (_corrupt(name, index, of, exc) if count is not None
                     else _broken_chain(name, index, next_ifd, size, exc))
            yield _failed(name, index, count, error)
            if count is None:
                return  # the frames after a broken link cannot be found
            continue
        next_ifd = getattr(getattr(img, "tag_v2", None), "next", None)
        try:
            page = _frame(img, name, index, max_pixels)
        except Exception as exc:  # malformed data: decoders raise many types
            error = exc if isinstance(exc, InputError) else _corrupt(name, index, of, exc)
            yield _failed(name, index, count, error)  # the other pages may still load
            continue
        yield page


def _failed(name: str, index: int, count: int | None, error: InputError) -> Page:
    """A page that could not be read; the error itself for a single-page file."""
    if count == 1:
        raise error from None
    return Page(None, name, index, error)


def _frame(img: Any, name: str, index: int, max_pixels: int) -> Page:
    """The current frame of ``img`` as a Page, its size checked before it is decoded."""
    resolutions = _resolutions(img)
    w, h = _square_size(*img.size, resolutions)
    if w * h > max_pixels:
        raise InputError(_bomb(name, f"{w}x{h} pixels" + (
            "" if (w, h) == img.size else " once its pixels are made square"), max_pixels))
    turn = img.getexif().get(ORIENTATION, 1)  # read before loading: Pillow turns a TIFF then
    img.load()
    if resolutions and turn in (5, 6, 7, 8):  # turned a quarter: the axes swap
        resolutions = resolutions[::-1]
    upright = _upright(img)
    page = _from_pil(upright, name, index)
    if page.image.size == 0:
        raise InputError(f"{name}: page {index + 1} has no pixels.")
    size = _square_size(*upright.size, resolutions)
    if size != upright.size:
        import cv2

        page.image = cv2.resize(page.image, size, interpolation=cv2.INTER_LINEAR)
    page.dpi = _declared_dpi(max(resolutions) if resolutions else None)
    return page


def _corrupt(name: str, index: int, of: str, exc: Exception) -> InputError:
    return InputError(f"{name}: page {index + 1}{of} is corrupt or truncated "
                      f"({type(exc).__name__}: {exc}).")


def _broken_chain(name: str, index: int, next_ifd: Any, size: int,
                  exc: Exception) -> InputError:
    """The error for frame ``index`` that its predecessor points to but cannot be read."""
    if isinstance(next_ifd, int) and next_ifd >= size:
        return InputError(f"{name}: the file is truncated after page {index}: page {index + 1} "
                          f"lies past its end (byte {next_ifd:,} of {size:,}); later pages, if "
                          "any, are lost.")
    return InputError(f"{name}: page {index + 1} cannot be found: the link to it is corrupt "
                      f"({type(exc).__name__}: {exc}); later pages, if any, cannot be reached.")


def _bomb(name: str, detail: Any, limit: int) -> str:
    return (f"{name}: the image is too large ({detail}); the limit is {limit:,} pixels. "
            "Raise it with max_pixels= (or --max-pixels) if you trust this file.")


def _pages_from_pdf(data: bytes, name: str, dpi: float, max_pixels: int,
                    password: str | None) -> Iterator[Page]:
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise MissingDependencyError("PDF input needs pypdfium2: pip install pypdfium2.")\
            from None
    try:
        pdf = pdfium.PdfDocument(data, password=password)
    except Exception as exc:  # PdfiumError, or anything a malformed file provokes
        if _pdf_has_no_pages(data, exc):
            raise InputError(f"{name}: the PDF has no pages.") from None
        hint = ("" if "password" not in str(exc).lower() else
                " The password given is not the PDF's." if password else
                " It is password-protected: pass password= (--password).")
        raise InputError(f"{name}: cannot open the PDF ({exc}).{hint}") from None
    try:
        if len(pdf) == 0:
            raise InputError(f"{name}: the PDF has no pages.")
        scale = dpi / 72.0
        for index in range(len(pdf)):
            try:
                page = pdf[index]
                w, h = page.get_size()
                if w * scale * h * scale > max_pixels:
                    raise InputError(_bomb(name, f"page {index + 1} at {dpi:g} dpi", max_pixels))
                bitmap = page.render(scale=scale, grayscale=False)
                image = np.array(bitmap.to_pil().convert("RGB"))
                if image.size == 0:
                    raise InputError(f"{name}: page {index + 1} is empty.")
            except InputError as exc:
                yield Page(None, name, index, exc)
                continue
            except Exception as exc:
                yield Page(None, name, index,
                           InputError(f"{name}: page {index + 1} cannot be rendered ({exc})."))
                continue
            yield Page(image, name, index, dpi=dpi)
    finally:
        pdf.close()


def _pdf_has_no_pages(data: bytes, exc: Exception) -> bool:
    """Whether a PDF that PDFium refused declares no pages. PDFium refuses such a file,
    calling it a "Data format error" or even "Success"."""
    if getattr(exc, "err_code", None) == 0:  # FPDF_ERR_SUCCESS: no document, no error
        return True
    return bool(_PDF_NO_PAGES.search(data)) and not _PDF_PAGE.search(data)


def load_pages(source: Source, *, dpi: float = 300, max_pixels: int = MAX_PIXELS,
               password: str | None = None, timeout: float = URL_TIMEOUT,
               max_bytes: int = MAX_DOWNLOAD,
               protocols: tuple[str, ...] = CLOUD_PROTOCOLS) -> Iterator[Page]:
    """Yield every page of ``source``.

    Parameters
    ----------
    source : path, URL, bytes, numpy.ndarray or PIL.Image.Image
        Files: PNG, JPEG, TIFF (all frames), BMP, WebP, JPEG 2000, AVIF, PDF, and
        HEIC/HEIF with the ``heic`` extra (pillow-heif). URLs: http(s), and
        s3://, gs://, az:// through fsspec when its backends are installed.
        Image files are turned as their EXIF Orientation says (as viewers show
        them); arrays and PIL images are taken as they are.
    dpi : float
        Resolution at which PDF pages are rendered.
    max_pixels : int
        Largest page accepted (decompression-bomb guard); raise it explicitly
        for huge trusted scans.
    password : str, optional
        For encrypted PDFs.
    timeout, max_bytes :
        Limits on one URL download.
    protocols : tuple of str
        fsspec protocols that URLs may use besides http(s) (default: the cloud
        stores s3, gs, az ...); ``file://`` and others must be enabled here.

    Yields
    ------
    Page
        One per page; a corrupt page of a multi-page file comes as a Page whose
        ``error`` says what is wrong, and the pages after it still follow.

    Raises
    ------
    InputError
        Missing, unreadable, corrupt or oversized input; a file that is not a
        regular file, or larger than :func:`max_file_bytes` allows.
    """
    name = describe(source)
    check_dpi(dpi)
    _check_max_pixels(max_pixels)
    if isinstance(source, np.ndarray):
        yield Page(_check_array(source, name), name, 0)
        return
    if hasattr(source, "getbands") and hasattr(source, "mode"):  # a PIL image
        yield _from_pil(source, name, 0)
        return
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        is_pdf = data[:5] == b"%PDF-"
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if "://" in text:
            data = _read_url(text, timeout=timeout, max_bytes=max_bytes, protocols=protocols)
            is_pdf = data[:5] == b"%PDF-"
        else:
            data = _read_file(Path(text), max_pixels)
            is_pdf = data[:5] == b"%PDF-" or Path(text).suffix.lower() in PDF_SUFFIXES
    else:
        raise ArgumentError(f"Cannot read a {type(source).__name__}: give a path, URL, bytes, "
                            "a NumPy array or a PIL image.")
    if not data:
        raise InputError(f"{name}: the file is empty.")
    if is_pdf:
        yield from _pages_from_pdf(data, name, dpi, max_pixels, password)
    else:
        yield from _pages_from_image_bytes(data, name, max_pixels)


def check_dpi(dpi: Any) -> float:
    """Validate a PDF rendering resolution: a number from MIN_DPI to MAX_DPI."""
    ok = isinstance(dpi, (int, float, np.number)) and not isinstance(dpi, bool) \
        and math.isfinite(dpi) and MIN_DPI <= dpi <= MAX_DPI
    if not ok:
        raise ArgumentError(f"`dpi` (PDF rendering) must be a number from {MIN_DPI} to "
                            f"{MAX_DPI}, got {dpi!r}.")
    return float(dpi)


def _check_max_pixels(max_pixels: Any) -> None:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, float, np.number)) \
            or not max_pixels >= 1 or max_pixels == float("inf"):
        raise ArgumentError(f"`max_pixels` must be a number of pixels, at least 1, got "
                            f"{max_pixels!r}.")


def max_file_bytes(max_pixels: int) -> int:
    """The largest file read for a page limit of ``max_pixels``: room for that many
    pixels of float RGBA (16 bytes each), and never less than 256 MiB."""
    return max(BYTES_PER_PIXEL * int(max_pixels), MIN_FILE_LIMIT)


def _read_file(path: Path, max_pixels: int = MAX_PIXELS) -> bytes:
    """The bytes of a regular file no larger than :func:`max_file_bytes` allows."""
    if not path.exists():
        raise InputError(f"{path}: no such file.")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give image files (a batch takes folders).")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a device, pipe or socket); give an image "
                         "or PDF file, or pass its bytes.")
    limit = max_file_bytes(max_pixels)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)  # the size stat() reports may be wrong (/proc)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc}).") from None
    if len(data) > limit:
        raise InputError(f"{path}: the file is over {limit:,} bytes, the limit for pages of up "
                         f"to {int(max_pixels):,} pixels. Raise max_pixels= (or --max-pixels) if "
                         "you trust this file.")
    return data


def _check_array(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` as a uint8 (H, W) or (H, W, 3) page; RGBA is composited on white."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ArgumentError(f"An image array must be (H, W), (H, W, 3) or (H, W, 4), got shape "
                            f"{array.shape}.")
    if array.size == 0:
        raise ArgumentError(f"{name}: the image array is empty (shape {array.shape}).")
    if array.dtype.kind not in "buif":
        raise InputError(f"{name}: an image array must hold numbers (bool, integer or float), "
                         f"got dtype {array.dtype}. Convert it first, e.g. "
                         "array.astype(np.uint8).")
    if array.dtype == np.uint8 and (array.ndim == 2 or array.shape[2] == 3):
        return array
    values = _to_255(array, name)
    if array.ndim == 3 and array.shape[2] == 4:  # composite RGBA on white
        alpha = values[..., 3:4] / 255.0
        values = values[..., :3] * alpha + 255.0 * (1 - alpha)
    return np.rint(np.clip(values, 0, 255)).astype(np.uint8)


def _to_255(array: np.ndarray, name: str) -> np.ndarray:
    """Every channel (alpha too) as float64 on the 0-255 scale.

    Unsigned integers span their type's range (uint16: 0-65535, as 16-bit files
    are read); bool is 0 or 255; floats in [0, 1] are scaled. Signed integers and
    floats within 0-255 are taken as they are; beyond it their own range is
    stretched to 0-255, as 32-bit integer and float image files are.
    """
    if array.dtype == bool:
        return array * 255.0
    if array.dtype.kind == "u":
        return array / (np.iinfo(array.dtype).max / 255.0)
    arr = array.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ArgumentError(f"{name}: the image array holds NaN or infinite values.")
    lo, hi = arr.min(), arr.max()
    if array.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        return arr * 255.0  # floats in [0, 1]
    if (lo >= 0.0 and hi <= 255.0) or hi == lo:
        return arr
    return (arr - lo) * (255.0 / (hi - lo))


def load_image(source: Source, **kwargs: Any) -> np.ndarray:
    """The first page of ``source`` as a uint8 array (see :func:`load_pages`)."""
    for page in load_pages(source, **kwargs):
        if page.error is not None:
            raise page.error
        return page.image
    raise InputError(f"{describe(source)}: holds no pages.")
