"""Tests of previewer.pixels.resize."""

from __future__ import annotations

import numpy as np
import pytest

from previewer.pixels.resize import _weights, area_resize, fit_size, resize_to_box


class TestFitSize:
    @pytest.mark.parametrize(
        ("rows", "cols", "box", "expected"),
        [
            (512, 512, (128, 128), (128, 128)),
            (1024, 256, (128, 128), (128, 32)),
            (256, 1024, (128, None), (32, 128)),
            (100, 50, (None, 20), (20, 10)),
            (64, 64, (128, 128), (64, 64)),
            (3, 3000, (10, 10), (1, 10)),
        ],
    )
    def test_fit(
        self,
        rows: int,
        cols: int,
        box: tuple[int | None, int | None],
        expected: tuple[int, int],
    ) -> None:
        """Fits the box, keeps the aspect ratio, never upscales."""
        assert fit_size(rows, cols, box[0], box[1]) == expected


class TestAreaResize:
    def test_integer_factor_is_block_mean(self) -> None:
        """Halving averages 2x2 blocks (synthetic)."""
        arr = np.arange(16, dtype=np.float64).reshape(4, 4).astype(np.uint16) * 100
        expected = arr.reshape(2, 2, 2, 2).mean(axis=(1, 3))
        assert np.array_equal(
            area_resize(arr, 2, 2), np.rint(expected).astype(np.uint16)
        )

    def test_fractional_factor_preserves_mean(self) -> None:
        """Area averaging keeps a constant image constant at any ratio."""
        arr = np.full((7, 5, 3), 200, np.uint8)
        out = area_resize(arr, 3, 2)
        assert out.shape == (3, 2, 3) and (out == 200).all()

    def test_antialiasing(self) -> None:
        """A one-pixel checkerboard averages to mid grey instead of aliasing."""
        board = (np.indices((8, 8)).sum(axis=0) % 2 * 255).astype(np.uint8)
        out = area_resize(board, 4, 4)
        assert (np.abs(out.astype(int) - 128) <= 1).all()

    def test_same_size_returns_input(self) -> None:
        """No resampling when the size already matches."""
        arr = np.zeros((4, 4), np.uint8)
        assert area_resize(arr, 4, 4) is arr

    def test_signed_values_rounded(self) -> None:
        """int16 data is averaged and rounded, keeping negatives."""
        arr = np.array([[-100, -200], [-300, -401]], np.int16)
        assert area_resize(arr, 1, 1).tolist() == [[-250]]


class TestResizeToBox:
    def test_never_upscales(self) -> None:
        """A box larger than the image leaves it as is."""
        arr = np.zeros((10, 20), np.uint8)
        assert resize_to_box(arr, 100, 100) is arr

    def test_output_contiguous(self) -> None:
        """The result is C-contiguous with the box's size."""
        out = resize_to_box(np.zeros((100, 40, 4), np.uint8), 20, None)
        assert out.shape == (50, 20, 4) and out.flags.c_contiguous


class TestWeights:
    @staticmethod
    def _whole(n_in: int, n_out: int) -> np.ndarray:
        """The area weights computed as one (n_out, n_in) float64 matrix."""
        edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
        starts = np.arange(n_in, dtype=np.float64)
        cover = np.clip(np.minimum(edges[1:, None], starts[None, :] + 1.0)
                        - np.maximum(edges[:-1, None], starts[None, :]), 0.0, None)
        cover /= cover.sum(axis=1, keepdims=True)
        return cover.astype(np.float32)

    @pytest.mark.parametrize(("n_in", "n_out"), [(1955, 512), (1841, 486), (640, 100), (129, 65), (3, 1), (1000, 999)])
    def test_rows_in_blocks_equal_the_whole_matrix(self, n_in: int, n_out: int) -> None:
        """Weights built a block of rows at a time are bit for bit the whole matrix's."""
        assert np.array_equal(_weights(n_in, n_out), self._whole(n_in, n_out))

    def test_rows_sum_to_one(self) -> None:
        """Each output pixel averages: its weights sum to 1."""
        assert np.allclose(_weights(1955, 512).sum(axis=1), 1.0, atol=1e-5)
