"""Orthanc Previewer: correct, fast PNG previews of DICOM images inside Orthanc."""

__version__ = "0.1.0"
