"""Pure-Python pixel pipeline of Orthanc Previewer.

Decodes one DICOM frame and renders it for display following the
grayscale and colour pipelines of DICOM PS3.3 C.11 and C.7.6.3.
The routes layer uses :mod:`.render`, :mod:`.params` and :mod:`.errors`.
"""
