"""The "Previewer" section of Orthanc's configuration, typed and checked.

Orthanc may be started with one configuration file or a folder of them; its
files are JSON with ``//`` and ``/* */`` comments.  Every option has a typed
default; a wrong type or value raises :class:`ConfigError` naming the option,
and the plugin then refuses to start.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

SECTION = "Previewer"


class ConfigError(ValueError):
    """An invalid value in the "Previewer" section."""


@dataclass(frozen=True)
class Option:
    key: str
    kind: type
    check: Callable[[Any], bool]
    expected: str
    help: str


@dataclass(frozen=True)
class Config:
    cache_size_mb: int = 256
    max_megapixels: float = 256.0
    thumbnail_size: int = 128
    serialize_requests: bool = False
    warm_on_ingest: bool = True
    png_encoder: str = "orthanc"
    decode_concurrency: int = 2
    mmap_threshold_kb: int = 1024
    memory_trim_seconds: int = 5
    core_routes: bool = False
    test_modules: tuple[str, ...] = ()

    def describe(self) -> str:
        return ", ".join(f"{_OPTIONS[f.name].key}={getattr(self, f.name)!r}" for f in fields(self))

    def section(self) -> dict[str, Any]:
        """This configuration as a JSON "Previewer" section."""
        return {_OPTIONS[f.name].key: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


_OPTIONS: dict[str, Option] = {
    "cache_size_mb": Option("CacheSizeMB", int, lambda v: v >= 0, "an integer >= 0",
                            "memory for decoded frames, in MB (0 disables the cache)"),
    "max_megapixels": Option("MaxMegapixels", float, lambda v: v > 0, "a number > 0",
                             "largest frame decoded, in megapixels; larger ones get 413"),
    "thumbnail_size": Option("ThumbnailSize", int, lambda v: 16 <= v <= 1024, "an integer in 16..1024",
                             "box of the viewer's thumbnails, in pixels"),
    "serialize_requests": Option("SerializeRequests", bool, lambda v: True, "true or false",
                                 "run previewer requests one at a time under Orthanc's REST lock"),
    "warm_on_ingest": Option("WarmOnIngest", bool, lambda v: True, "true or false",
                             "decode and pre-render the thumbnail of each new instance in the background"),
    "png_encoder": Option("PngEncoder", str, lambda v: v in ("orthanc", "fast"), '"orthanc" or "fast"',
                          "default PNG encoder: Orthanc's libpng, or the fast numpy + zlib-ng one"),
    "decode_concurrency": Option("DecodeConcurrency", int, lambda v: 1 <= v <= 256, "an integer in 1..256",
                                 "cold decodes and downscales run at once (others wait); bounds their memory and CPU"),
    "mmap_threshold_kb": Option("MmapThresholdKB", int, lambda v: 0 <= v <= 32768, "an integer in 0..32768",
                                "glibc serves blocks of this size and more with mmap, so freed frames go back "
                                "to the system (0 leaves glibc's dynamic default)"),
    "memory_trim_seconds": Option("MemoryTrimSeconds", int, lambda v: 0 <= v <= 3600, "an integer in 0..3600",
                                  "while requests come, give freed heap back to the system this often, with "
                                  "glibc's arenas bounded to 2 per CPU (0: neither)"),
    "core_routes": Option("CoreRoutes", bool, lambda v: True, "true or false",
                          "answer Orthanc's own /instances/{id}/preview and /rendered routes with the previewer's renderer"),
    "test_modules": Option("TestModules", tuple, lambda v: all(isinstance(p, str) for p in v),
                           "a list of paths of Python files",
                           "test-only modules to load (used by the test suite)"),
}

OPTIONS = {option.key: option for option in _OPTIONS.values()}


def _convert(option: Option, value: Any) -> Any:
    if option.kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f'"{SECTION}.{option.key}" must be {option.expected}, not {value!r}')
        return value
    if option.kind is str:
        if not isinstance(value, str):
            raise ConfigError(f'"{SECTION}.{option.key}" must be {option.expected}, not {value!r}')
        return value
    if option.kind is tuple:
        if not isinstance(value, list):
            raise ConfigError(f'"{SECTION}.{option.key}" must be {option.expected}, not {value!r}')
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            option.kind is int and not float(value).is_integer()):
        raise ConfigError(f'"{SECTION}.{option.key}" must be {option.expected}, not {value!r}')
    return option.kind(value)


def from_section(section: Mapping[str, Any]) -> Config:
    """Check a "Previewer" section and return the configuration it gives."""
    if not isinstance(section, Mapping):
        raise ConfigError(f'"{SECTION}" must be a JSON object, not {section!r}')
    unknown = sorted(set(section) - set(OPTIONS))
    if unknown:
        raise ConfigError(f'unknown option "{SECTION}.{unknown[0]}"; the options are {", ".join(OPTIONS)}')
    values: dict[str, Any] = {}
    for name, option in _OPTIONS.items():
        if option.key not in section:
            continue
        value = _convert(option, section[option.key])
        if not option.check(value):
            raise ConfigError(f'"{SECTION}.{option.key}" must be {option.expected}, not {section[option.key]!r}')
        values[name] = value
    return Config(**values)


def strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments outside strings, as Orthanc allows them."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def read_orthanc_configuration(path: str) -> dict[str, Any]:
    """Orthanc's configuration: one file, or every ``.json`` file of a folder merged."""
    paths = [path]
    if os.path.isdir(path):
        paths = sorted(os.path.join(path, name) for name in os.listdir(path) if name.endswith(".json"))
    merged: dict[str, Any] = {}
    for item in paths:
        with open(item, encoding="utf-8") as handle:
            try:
                content = json.loads(strip_comments(handle.read()))
            except json.JSONDecodeError as error:
                raise ConfigError(f"cannot parse the configuration file {item}: {error}") from error
        if isinstance(content, dict):
            merged.update(content)
    return merged


def load(path: str | None) -> Config:
    """The configuration from Orthanc's configuration path (defaults if there is none)."""
    if not path:
        return Config()
    return from_section(read_orthanc_configuration(path).get(SECTION, {}))
