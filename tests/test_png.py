"""The fast PNG encoder: standard PNGs that decode to the same pixels."""
from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from previewer.plugin import png

RNG = np.random.default_rng(7)


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


class TestEncode:
    @pytest.mark.parametrize("name, array", [
        ("gray8", RNG.integers(0, 256, (37, 53), dtype=np.uint8)),
        ("rgb24", RNG.integers(0, 256, (19, 23, 3), dtype=np.uint8)),
        ("rgba32", RNG.integers(0, 256, (11, 7, 4), dtype=np.uint8)),
    ])
    def test_eight_bit_round_trip(self, name: str, array: np.ndarray) -> None:
        """8-bit grey, RGB and RGBA decode with Pillow to the same pixels."""
        assert np.array_equal(_decode(png.encode(array, name)), array)

    def test_gray16_round_trip(self) -> None:
        """16-bit grey is written big-endian and decodes to the same values."""
        array = RNG.integers(0, 65536, (13, 17), dtype=np.uint16)
        assert np.array_equal(_decode(png.encode(array, "gray16")).astype(np.uint16), array)

    def test_signed16_keeps_twos_complement(self) -> None:
        """signed16 holds int16 as raw two's complement, like Orthanc's writer."""
        array = np.array([[-1024, -1, 0, 3071]], np.int16)
        decoded = _decode(png.encode(array, "signed16")).astype(np.uint16).view(np.int16)
        assert np.array_equal(decoded, array)

    def test_rows_are_up_filtered(self) -> None:
        """Every row starts with filter byte 2 (Up) and holds differences."""
        rows = np.array([[1, 2], [4, 6]], np.uint8)
        assert png.up_filter(rows).tolist() == [[2, 1, 2], [2, 3, 4]]

    def test_idat_is_zlib(self) -> None:
        """The IDAT chunk is a zlib stream of the filtered rows."""
        data = png.encode(np.zeros((2, 3), np.uint8), "gray8")
        start = data.index(b"IDAT") + 4
        length = int.from_bytes(data[start - 8:start - 4], "big")
        assert zlib.decompress(data[start:start + length]) == bytes([2, 0, 0, 0] * 2)

    def test_channel_mismatch_is_refused(self) -> None:
        """An array with the wrong channel count raises ValueError."""
        with pytest.raises(ValueError, match="rgb24"):
            png.encode(np.zeros((2, 2), np.uint8), "rgb24")
