"""A Segmentation's own thumbnail: ``view=thumbnail`` on the PNG route of a SEG instance.

The picture is :func:`previewer.objects.segmentation.thumbnail`: the segments
of the image frame on which the most segments have pixels, each opaque in its
Recommended Display CIELab colour (PS3.3 C.8.20.2), over that image when it
is stored in Orthanc and has the Segmentation's size, else on black.  The
image is found without a lookup: an Orthanc instance ID is the SHA-1 of the
instance's Patient ID, Study, Series and SOP Instance UIDs (Orthanc's
``DicomInstanceHasher``), and a Segmentation's Referenced Series Sequence
(PS3.3 C.12.2) lists the series of the study that its images belong to.
``X-Previewer-Segmentation`` says what the picture shows.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from ...objects import kind_of
from ...objects import segmentation as seg
from ...pixels.errors import BadParameter, FrameNotFound, PixelError
from ...pixels.params import RenderParams
from ...pixels.render import Rendered
from ..http import HttpError
from ..store import (
    NotImage,
    Store,
    cached_render,
    frame_of_reference,
    instance_version,
    modality_frame,
    opened,
    parsed_object,
    rendered_frame,
    sop_instance_uid,
)
from .documents import as_format

HEADER = "X-Previewer-Segmentation"
#: Parameters that do not apply to a Segmentation's thumbnail (400); window and voi apply to the image under it.
_REFUSED = ("padding", "presentation", "segmentation", "opacity", "segments", "structures", "fill", "rois",
            "page", "group")


@dataclass(frozen=True)
class Plan:
    """What a Segmentation's thumbnail shows: the image frame picked, and the stored image under it (or None)."""

    segmentation: seg.Segmentation
    picked: seg.ThumbnailImage
    #: (Orthanc ID, version, 0-based frame) of the image drawn under the segments; None: on black.
    image: tuple[str, str, int] | None
    note: str


def orthanc_instance_id(patient_id: str, study: str, series: str, sop_instance: str) -> str:
    """The Orthanc ID of an instance: SHA-1 of 'PatientID|StudyUID|SeriesUID|SOPInstanceUID', in 5 groups of 8."""
    digest = hashlib.sha1(f"{patient_id}|{study}|{series}|{sop_instance}".encode()).hexdigest()
    return "-".join(digest[i:i + 8] for i in range(0, 40, 8))


def _kind(store: Store, instance_id: str, version: str) -> str:
    """The instance's kind (objects.kind_of), read from its header once, then cached."""
    def read() -> str:
        with opened(store, instance_id) as ds:
            return kind_of(ds)
    kind: str = store.cache.get_or_compute((instance_id, version, "kind"), read, lambda _: 256)
    return kind


def _picked(store: Store, instance_id: str, version: str, parsed: seg.Segmentation) -> seg.ThumbnailImage:
    picked: seg.ThumbnailImage = store.cache.get_or_compute(
        (instance_id, version, "seg-thumbnail-image"), lambda: seg.thumbnail_image(parsed),
        lambda value: 512 + 8 * len(value.indices))
    return picked


def _under(store: Store, parsed: seg.Segmentation,
           picked: seg.ThumbnailImage) -> tuple[tuple[str, str, int] | None, str]:
    """The stored image frame under the segments, with the header's note; None (on black) and why not."""
    if not picked.uid:
        return None, "on black: its frames reference no image"
    series = parsed.series_of.get(picked.uid) or (parsed.series[0] if len(parsed.series) == 1 else "")
    if not series or not parsed.study:
        return None, f"on black: the series of image {picked.uid} is not in its Referenced Series Sequence"
    if picked.frame < 1:   # PS3.3 C.7.6.16.2.6: Referenced Frame Numbers count from 1
        return None, f"on black: image {picked.uid} has no frame {picked.frame}"
    image_id = orthanc_instance_id(parsed.patient_id, parsed.study, series, picked.uid)
    try:
        version = instance_version(store, image_id)
        if sop_instance_uid(store, image_id, version) != picked.uid:
            return None, f"on black: image {picked.uid} is not stored"
        rows, columns = modality_frame(store, image_id, version, picked.frame - 1).array.shape[:2]
        seg.check_geometry(parsed, int(rows), int(columns), frame_of_reference(store, image_id, version))
    except HttpError as error:
        if error.status == 404:
            return None, f"on black: image {picked.uid} is not stored"
        return None, f"on black: image {picked.uid}: {error.message}"
    except (NotImage, PixelError) as error:
        return None, f"on black: image {picked.uid}: {error.message}"
    return (image_id, version, picked.frame - 1), f"over {image_id} frame {picked.frame - 1}"


def plan(store: Store, instance_id: str, version: str, frame: int, query: Mapping[str, str]) -> Plan | None:
    """The plan of a Segmentation's thumbnail when the request is ``view=thumbnail`` of one, else None."""
    if query.get("view") != "thumbnail" or _kind(store, instance_id, version) != "segmentation":
        return None
    refused = [name for name in _REFUSED if name in query]
    if refused:
        raise BadParameter(f"parameter '{refused[0]}' does not apply to a Segmentation's own thumbnail")
    parsed: seg.Segmentation = parsed_object(store, "segmentation", instance_id)
    count = int(parsed.frames.shape[0])
    if frame >= count:
        plural = "" if count == 1 else "s"
        raise FrameNotFound(f"frame {frame} is out of range: the Segmentation has {count} frame{plural}")
    picked = _picked(store, instance_id, version, parsed)
    image, note = _under(store, parsed, picked)
    shown = ", ".join(str(number) for number in picked.segments) or "none"
    # A header value: the UIDs come from the file, so anything but printable ASCII is replaced.
    text = "".join(c if " " <= c <= "~" else "?" for c in f"{note}; segments {shown}")[:300]
    return Plan(parsed, picked, image, text)


def variant(found: Plan) -> str:
    """What the thumbnail depends on beyond the Segmentation itself, for its ETag: the image under it."""
    return "seg-thumbnail=" + ("black" if found.image is None else "@".join(found.image[:2]) + f"#{found.image[2]}")


def render(store: Store, instance_id: str, version: str, found: Plan, params: RenderParams) -> Rendered:
    """The thumbnail in the format asked (rgb24 by default; gray8, rgba32 and invert as for documents)."""
    key = (instance_id, version, "seg-thumbnail", variant(found), params.cache_key())
    cached: Rendered | None = store.cache.get(key)
    if cached is not None:
        return cached
    under = None
    if found.image is not None:   # rendered before the paint's decode slot is taken: no slot is held twice
        image_id, image_version, index = found.image
        under = rendered_frame(store, image_id, image_version, index,
                               dataclasses.replace(params, format=None, invert=False))

    def paint() -> Rendered:
        painted = seg.thumbnail(found.segmentation, found.picked, under, params.max_width, params.max_height)
        return as_format(painted.array[:, :, :3], params)
    return cached_render(store, key, paint)
