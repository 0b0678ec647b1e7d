"""Where the endpoints get DICOM files, versions and decoded frames: the store.

Endpoints reach Orthanc only through :class:`Store`, so that they can be
tested with a store that is not Orthanc.  The file is read borrowed (Orthanc's
own buffer, no copy) or copied, in one place (:func:`_file`).

A frame is decoded once and kept, after the Modality LUT, in the store's
cache; a new window costs only the VOI step and the encoding.  Small renders
(thumbnails) are kept too, and so is the failure of a frame that cannot be
decoded (415, 413), so it is not decoded again.  Every request first asks the store for the
version of the instance (the UUID of its stored file): an unknown instance is
404 at once, so a deleted instance is never served from a cache, and the
version is part of every cache key and ETag, so a replaced file is never
mistaken for the old one.  Versions are remembered by instance while the
store's ``generation`` stays the same: native/events.c counts every stored
instance, deletion and modifying HTTP request, so a lookup costs a REST call
only after something changed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..objects import kind_of
from ..pixels import reader, render
from ..pixels.errors import BadParameter, PixelError, TooLarge, Unsupported
from ..pixels.params import RenderParams
from ..pixels.resize import area_resize, fit_size
from . import timing
from .cache import LruCache
from .http import HttpError, check_id

#: Renders up to this size are cached whole: thumbnails (128x128 RGBA is 64 KiB)
#: and small previews.  Not full-size frames (a 512x512 gray8 is 256 KiB): a new
#: window is a new render, and a repeat is a 304 through the ETag, so caching
#: those only pushed decoded frames out of the cache.
SMALL_RENDER_BYTES = 64 * 1024


#: At most this many versions are remembered; the table starts again when full.
MAX_VERSIONS = 100_000

#: Orthanc's REST API, read: the answer's bytes for a URI (raises UnknownResource).
RestGet = Callable[[str], bytes]


class UnknownInstance(LookupError):
    """The store has no instance of that ID."""


class UnknownResource(LookupError):
    """Orthanc has no resource at that URI."""


class NotImage(Unsupported):
    """The instance is a document, report, presentation state, waveform or structure set: ``kind`` tells which."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"the instance is a {kind}, not an image")
        self.kind = kind


@dataclass
class Store:
    """Where DICOM files come from (Orthanc, or a test double), and the caches."""

    dicom: Callable[[str], bytes]
    version: Callable[[str], str | None]
    cache: LruCache = field(default_factory=lambda: LruCache(256 * 2**20))
    max_megapixels: float | None = None
    encoder: str = "orthanc"
    #: Cold decodes allowed at once: bounds the memory and CPU they take.
    decode_slots: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(2))
    #: The file without a copy (Orthanc's own buffer), valid inside the block; ``dicom`` if None.
    borrow: Callable[[str], contextlib.AbstractContextManager[bytes | memoryview]] | None = None
    #: A counter that moves whenever an instance may have changed; None: versions are not remembered.
    generation: Callable[[], int] | None = None
    _versions: dict[str, str] = field(default_factory=dict, repr=False)
    _generation: int = -1

    def forget(self, instance_id: str) -> None:
        """Drop everything kept for the instance (its version and its cache entries)."""
        self._versions.pop(instance_id, None)
        self.cache.forget(instance_id)


def _unknown(instance_id: str) -> HttpError:
    return HttpError(404, f"unknown instance '{instance_id}'", instance=instance_id)


@contextlib.contextmanager
def _file(store: Store, instance_id: str) -> Iterator[bytes | memoryview]:
    """The instance's DICOM file, borrowed when the store can, valid inside the block."""
    check_id("instance", instance_id)
    with contextlib.ExitStack() as stack:
        try:
            data = (stack.enter_context(store.borrow(instance_id)) if store.borrow is not None
                    else store.dicom(instance_id))
        except UnknownInstance:
            raise _unknown(instance_id) from None
        timing.mark("read")
        yield data


@contextlib.contextmanager
def opened(store: Store, instance_id: str) -> Iterator[Any]:
    """The instance's dataset as the pixel pipeline reads it, valid inside the block only:
    its pixel data may be a view of the store's buffer, which is dropped on exit."""
    with _file(store, instance_id) as data:
        ds = reader.read_dataset(data)   # an unreadable file is Unsupported (415), a malformed element Malformed
        try:
            yield ds
        finally:
            reader.release(ds)


@contextlib.contextmanager
def full_dataset(store: Store, instance_id: str) -> Iterator[Any]:
    """Every element of the instance (the pixel pipeline's reader keeps only what it renders)."""
    with _file(store, instance_id) as data:
        yield reader.read_full(data)


def pixel_error(error: PixelError, instance_id: str, frame: int | None = None) -> HttpError:
    """The HTTP error of a pixel error, naming the instance (and frame)."""
    details: dict[str, Any] = {"instance": instance_id}
    if frame is not None:
        details["frame"] = frame
    return HttpError(error.status, error.message, **details)


def _frame_size(frame: render.ModalityFrame) -> int:
    mask = frame.padding_mask.nbytes if frame.padding_mask is not None else 0
    overlays = sum(int(overlay.bitmap.nbytes) for overlay in frame.overlays)
    return int(frame.array.nbytes) + mask + overlays + 1024


def instance_version(store: Store, instance_id: str) -> str:
    """The instance's version; 404 (and its cache entries dropped) when it is gone."""
    versions = store._versions
    generation = store.generation() if store.generation is not None else None
    if generation is not None:
        if generation != store._generation:
            versions.clear()
            store._generation = generation
        known = versions.get(instance_id)
        if known is not None:
            return known
    check_id("instance", instance_id)
    version = store.version(instance_id)
    if version is None:
        store.forget(instance_id)
        raise _unknown(instance_id)
    # Kept only if nothing changed during the lookup.
    if generation is not None and store.generation is not None and store.generation() == generation:
        if len(versions) >= MAX_VERSIONS:
            versions.clear()
        versions[instance_id] = version
    return version


@dataclass(frozen=True)
class _Undecodable:
    """A frame that failed to decode, kept in the cache like a frame.

    Undecodable (415) and too large (413) are properties of the stored file
    (a replaced file has another version, hence another key), so the next
    request gets its answer without decoding again: a failing decode can be
    slow, and pylibjpeg-libjpeg 2.5 leaks about 6.5 KB on each one.
    """

    kind: type[PixelError]
    message: str
    #: For a NotImage: the kind of object it is.
    object_kind: str = ""


_REMEMBERED_ERRORS = (Unsupported, TooLarge)


def _entry_size(value: render.ModalityFrame | _Undecodable) -> int:
    return _frame_size(value) if isinstance(value, render.ModalityFrame) else 1024


def modality_frame(store: Store, instance_id: str, version: str, index: int,
                   dataset: Any = None) -> render.ModalityFrame:
    """Frame ``index`` after the Modality LUT, from the cache or decoded now (from ``dataset`` if given)."""
    def decoded(ds: Any) -> render.ModalityFrame | _Undecodable:
        timing.mark("parse")
        kind = kind_of(ds)
        # A segmentation is an image too (its own frames render); these have no pixels.
        if kind in ("pdf", "report", "presentation", "waveform", "rtstruct"):
            return _Undecodable(NotImage, "", kind)
        try:
            return render.modality_frame(ds, index, max_megapixels=store.max_megapixels)
        except _REMEMBERED_ERRORS as error:
            return _Undecodable(type(error), error.message)
        finally:
            timing.mark("decode")

    def decode() -> render.ModalityFrame | _Undecodable:
        with store.decode_slots:
            timing.mark("cache")
            if dataset is not None:
                return decoded(dataset)
            try:
                with opened(store, instance_id) as ds:
                    return decoded(ds)
            finally:
                timing.mark("read")  # giving the file back to Orthanc

    value: render.ModalityFrame | _Undecodable = store.cache.get_or_compute(
        (instance_id, version, "frame", index), decode, _entry_size)
    if isinstance(value, _Undecodable):
        if value.object_kind:
            raise NotImage(value.object_kind)
        raise value.kind(value.message)
    return value


def _downscaled(store: Store, instance_id: str, version: str, frame: render.ModalityFrame,
                params: RenderParams) -> tuple[render.ModalityFrame, RenderParams]:
    """The frame already fitted to the requested box, cached, and the parameters left to apply.

    Downscaling averages the modality values (or RGB samples) before the
    window, so that a new window on a large image costs only the small
    image's lookup; palette indices and padding masks cannot be averaged, and
    those frames are resized after display instead.
    """
    if (params.max_width is None and params.max_height is None) or frame.palette is not None \
            or frame.padding_mask is not None:
        return frame, params
    rows, cols = fit_size(frame.array.shape[0], frame.array.shape[1], params.max_width, params.max_height)
    if (rows, cols) == frame.array.shape[:2]:
        return frame, params

    def downscale() -> render.ModalityFrame:
        # Cold work like a decode: the same slots bound its float32 copy of the frame.
        with store.decode_slots:
            array = area_resize(frame.array, rows, cols)
        array.flags.writeable = False
        return dataclasses.replace(frame, array=array)

    key = (instance_id, version, "frame", frame.index, rows, cols)
    small: render.ModalityFrame = store.cache.get_or_compute(key, downscale, _frame_size)
    return small, dataclasses.replace(params, max_width=None, max_height=None)


def rendered_frame(store: Store, instance_id: str, version: str, index: int,
                   params: RenderParams) -> render.Rendered:
    """The rendered frame; small renders are cached whole."""
    key = (instance_id, version, "render", index, params.cache_key())
    cached: render.Rendered | None = store.cache.get(key)
    if cached is not None:
        return cached
    frame, remaining = _downscaled(store, instance_id, version,
                                   modality_frame(store, instance_id, version, index), params)
    timing.mark("cache")
    result = render.display(frame, remaining)
    timing.mark("lut")
    return _keep_small(store, key, result)


def _keep_small(store: Store, key: tuple[Any, ...], result: render.Rendered) -> render.Rendered:
    if result.array.nbytes <= SMALL_RENDER_BYTES:
        store.cache.put(key, result, int(result.array.nbytes) + 512)
    return result


def cached_render(store: Store, key: tuple[Any, ...], make: Callable[[], render.Rendered]) -> render.Rendered:
    """A picture that is not a frame (a PDF page, a report): made in a decode slot, kept when small."""
    cached: render.Rendered | None = store.cache.get(key)
    if cached is not None:
        return cached
    with store.decode_slots:
        result = make()
    return _keep_small(store, key, result)


def warm(store: Store, instance_id: str, thumbnail: RenderParams) -> None:
    """Decode frame 0 into the cache and pre-render its thumbnail (nothing for objects that are not images)."""
    with contextlib.suppress(NotImage):
        rendered_frame(store, instance_id, instance_version(store, instance_id), 0, thumbnail)


def sop_instance_uid(store: Store, instance_id: str, version: str) -> str:
    """The instance's SOP Instance UID (read once, then cached)."""
    def read() -> str:
        with opened(store, instance_id) as ds:   # Orthanc's files always carry the File Meta Information
            uid = ds.file_meta.get("MediaStorageSOPInstanceUID")
        if not isinstance(uid, str) or not uid:
            with full_dataset(store, instance_id) as ds:
                uid = ds.get("SOPInstanceUID", "")
        return str(uid)
    uid: str = store.cache.get_or_compute((instance_id, version, "sop"), read, lambda _: 256)
    return uid


def frame_of_reference(store: Store, instance_id: str, version: str) -> str:
    """The image's (0020,0052) Frame of Reference UID, or "" (read once, then cached)."""
    def read() -> str:
        with full_dataset(store, instance_id) as ds:
            return str(ds.get("FrameOfReferenceUID", "") or "")
    uid: str = store.cache.get_or_compute((instance_id, version, "frame-of-reference"), read, lambda _: 256)
    return uid


def slices(store: Store, instance_id: str, version: str) -> list[Any]:
    """The instance's slices for a volume (:func:`previewer.pixels.volume.slices_of`), read once, then cached."""
    from ..pixels import volume

    def read() -> list[Any]:
        with full_dataset(store, instance_id) as ds:
            return volume.slices_of(ds, instance_id)
    found: list[Any] = store.cache.get_or_compute((instance_id, version, "slices"), read,
                                                  lambda value: 512 + 256 * len(value))
    return found


def _nbytes(value: Any, depth: int = 2) -> int:
    """About the memory a parsed object holds: its numpy arrays, a few levels down."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if depth == 0:
        return 0
    if isinstance(value, Mapping):
        return sum(_nbytes(item, depth - 1) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(item, depth - 1) for item in value)
    if dataclasses.is_dataclass(value):
        return sum(_nbytes(getattr(value, f.name), depth - 1) for f in dataclasses.fields(value))
    return 0


def object_version(store: Store, name: str, object_id: str) -> str:
    """The version of the object given as parameter ``name``; 404 naming the parameter when it is gone."""
    try:
        return instance_version(store, object_id)
    except HttpError:
        raise HttpError(404, f"unknown {name} instance '{object_id}'", **{name: object_id}) from None


#: The parameters that name an object, with its kind (objects.kind_of) and name.
_OBJECT_KINDS = {"presentation": ("presentation", "a Grayscale Softcopy Presentation State"),
                 "segmentation": ("segmentation", "a Segmentation"),
                 "structures": ("rtstruct", "an RT Structure Set")}


def parsed_object(store: Store, name: str, object_id: str) -> Any:
    """The parsed presentation state, segmentation or structure set (``structures``) of that ID, cached by its version."""
    version = object_version(store, name, object_id)

    def parse() -> Any:
        with full_dataset(store, object_id) as ds:
            if kind_of(ds) != _OBJECT_KINDS[name][0]:
                raise BadParameter(f"parameter '{name}': instance {object_id} is not {_OBJECT_KINDS[name][1]}")
            if name == "presentation":
                from ..objects import presentation
                return presentation.parse(ds)
            if name == "structures":
                from ..objects import rtstruct
                return rtstruct.parse(ds)
            from ..objects import segmentation
            return segmentation.parse(ds, store.max_megapixels)
    return store.cache.get_or_compute((object_id, version, name), parse, lambda value: _nbytes(value) + 4096)
