"""Objects a study holds beyond plain images, and how each previews.

:func:`kind_of` sorts an instance by its SOP Class (PS3.4 Annex B) and
transfer syntax (PS3.5 §8.2.5-8.2.7) into one of :data:`KINDS`; the modules
of this package render the kinds that are not images:

- :mod:`.pdf`: Encapsulated PDF (PS3.3 A.45.1), pages through pypdfium2;
- :mod:`.video`: MPEG-2, MPEG-4 AVC/H.264 and HEVC/H.265 pixel data, frames through PyAV;
- :mod:`.report`: Structured Reports and Key Object Selection (PS3.3 A.35), HTML and a thumbnail;
- :mod:`.presentation`: Grayscale Softcopy Presentation State (PS3.3 A.33.1);
- :mod:`.segmentation`: Segmentation (PS3.3 A.51), drawn over the images it references;
- :mod:`.rtstruct`: RT Structure Sets (PS3.3 A.19), their contours drawn over the images they outline;
- :mod:`.waveform`: waveforms (PS3.3 A.34, C.10.9): ECG, hemodynamic, respiratory, audio.
"""
from __future__ import annotations

from typing import Any

from ..pixels.elements import string
from ..pixels.video import VIDEO_TRANSFER_SYNTAXES

#: What an instance is, for the previewer.
KINDS = ("image", "pdf", "report", "video", "presentation", "segmentation", "waveform", "rtstruct")

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
GRAYSCALE_PRESENTATION = "1.2.840.10008.5.1.4.1.1.11.1"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
RT_STRUCTURE_SET = "1.2.840.10008.5.1.4.1.1.481.3"
#: Every Structured Report and Key Object Selection storage class (PS3.4 B.5) is under this root.
_SR_ROOT = "1.2.840.10008.5.1.4.1.1.88."
#: Every waveform storage class (PS3.4 B.5) is under this root.
_WAVEFORM_ROOT = "1.2.840.10008.5.1.4.1.1.9."
#: Presentation states other than grayscale (colour, pseudo-colour, blending, ...): PS3.4 B.5.
_OTHER_PRESENTATION_ROOT = "1.2.840.10008.5.1.4.1.1.11."

def transfer_syntax(ds: Any) -> str:
    """The dataset's transfer syntax UID, or '' when absent or unreadable."""
    meta = getattr(ds, "file_meta", None)
    return string(meta, "TransferSyntaxUID") if meta is not None else ""


def kind_for(sop_class: str, transfer_syntax_uid: str) -> str:
    """One of :data:`KINDS` for a SOP Class UID and transfer syntax; 'image' for everything else."""
    if sop_class == ENCAPSULATED_PDF:
        return "pdf"
    if sop_class.startswith(_SR_ROOT):
        return "report"
    if sop_class == GRAYSCALE_PRESENTATION:
        return "presentation"
    if sop_class == SEGMENTATION:
        return "segmentation"
    if sop_class.startswith(_WAVEFORM_ROOT):
        return "waveform"
    if sop_class == RT_STRUCTURE_SET:
        return "rtstruct"
    if transfer_syntax_uid in VIDEO_TRANSFER_SYNTAXES:
        return "video"
    return "image"


def kind_of(ds: Any) -> str:
    """One of :data:`KINDS` for the dataset (a non-image that is none of them then fails as an image)."""
    meta = getattr(ds, "file_meta", None)
    sop_class = string(ds, "SOPClassUID") or (string(meta, "MediaStorageSOPClassUID") if meta is not None else "")
    return kind_for(sop_class, transfer_syntax(ds))


def is_other_presentation(ds: Any) -> bool:
    """True for a presentation state the previewer does not apply (colour, blending, ...)."""
    sop_class = string(ds, "SOPClassUID")
    return sop_class.startswith(_OTHER_PRESENTATION_ROOT) and sop_class != GRAYSCALE_PRESENTATION
