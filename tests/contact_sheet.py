"""Write one PNG with a labelled thumbnail of every renderable corpus image.

Usage: python tests/contact_sheet.py [OUTPUT.png]   (``make contact-sheet``)
Frame 0 of each file, rendered in process by the same pipeline the plugin
uses, with its default window; files that cannot render show their error.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pixels_corpus import image_files  # noqa: E402

from previewer.pixels.reader import read_dataset  # noqa: E402
from previewer.pixels.errors import PixelError  # noqa: E402
from previewer.pixels.params import parse_params  # noqa: E402
from previewer.pixels.render import render  # noqa: E402

CELL = 128
LABEL = 24
COLUMNS = 12


def _thumbnail(path: Path) -> Image.Image | str:
    try:
        rendered = render(read_dataset(path.read_bytes()), 0, parse_params({"size": str(CELL), "format": "rgb24"}))
    except PixelError as error:
        return error.message
    return Image.fromarray(np.ascontiguousarray(rendered.array), "RGB")


def main() -> None:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "test-artifacts/contact-sheet.png")
    files = image_files()
    rows = (len(files) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * CELL, rows * (CELL + LABEL)), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    failed = 0
    for index, (name, path) in enumerate(files):
        x, y = (index % COLUMNS) * CELL, (index // COLUMNS) * (CELL + LABEL)
        thumb = _thumbnail(path)
        if isinstance(thumb, str):
            failed += 1
            draw.rectangle([x + 2, y + 2, x + CELL - 2, y + CELL - 2], outline=(200, 60, 60))
            draw.text((x + 6, y + 6), "\n".join(thumb[i:i + 20] for i in range(0, 100, 20)), fill=(230, 120, 120))
        else:
            sheet.paste(thumb, (x + (CELL - thumb.width) // 2, y + (CELL - thumb.height) // 2))
        draw.text((x + 2, y + CELL + 4), name.split("/", 1)[1][:21], fill=(220, 220, 220))
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
    print(f"{output}: {len(files) - failed} rendered, {failed} could not render, {len(files)} files")


if __name__ == "__main__":
    main()
