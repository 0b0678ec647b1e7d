"""Errors raised by the pixel pipeline, each carrying an HTTP status."""

from __future__ import annotations


class PixelError(Exception):
    """Base class: ``status`` is the HTTP status, ``message`` the reason."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadParameter(PixelError):
    """A rendering parameter is malformed or cannot apply to this image."""

    status = 400


class FrameNotFound(PixelError):
    """The requested frame index does not exist in the instance."""

    status = 404


class TooLarge(PixelError):
    """The decoded frame would exceed the configured megapixel limit."""

    status = 413


class Unsupported(PixelError):
    """No pixel data, a missing/invalid attribute, or an undecodable syntax."""

    status = 415


class Malformed(Unsupported):
    """An element holds a value the standard does not allow: the message names the tag and the value."""
