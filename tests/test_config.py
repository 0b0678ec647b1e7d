"""The "Previewer" configuration section: defaults, checks and file reading."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from previewer.config import Config, ConfigError, from_section, load, read_orthanc_configuration, strip_comments


class TestFromSection:
    def test_empty_section_gives_defaults(self) -> None:
        """No options means the documented defaults."""
        assert from_section({}) == Config()

    def test_values_are_typed(self) -> None:
        """Each option is converted to its type."""
        config = from_section({"CacheSizeMB": 64, "MaxMegapixels": 50, "ThumbnailSize": 96,
                               "SerializeRequests": True, "WarmOnIngest": False, "PngEncoder": "fast",
                               "DecodeConcurrency": 4, "MmapThresholdKB": 0, "MemoryTrimSeconds": 0, "CoreRoutes": True,
                               "TestModules": ["/x.py"]})
        assert config == Config(64, 50.0, 96, True, False, "fast", 4, 0, 0, True, ("/x.py",))

    @pytest.mark.parametrize("section, option", [
        ({"CacheSizeMB": -1}, "CacheSizeMB"),
        ({"CacheSizeMB": "big"}, "CacheSizeMB"),
        ({"CacheSizeMB": 1.5}, "CacheSizeMB"),
        ({"MaxMegapixels": 0}, "MaxMegapixels"),
        ({"ThumbnailSize": 4}, "ThumbnailSize"),
        ({"SerializeRequests": "yes"}, "SerializeRequests"),
        ({"TestModules": "x.py"}, "TestModules"),
        ({"WarmOnIngest": 1}, "WarmOnIngest"),
        ({"CoreRoutes": "on"}, "CoreRoutes"),
        ({"PngEncoder": "zopfli"}, "PngEncoder"),
        ({"PngEncoder": 3}, "PngEncoder"),
        ({"DecodeConcurrency": 0}, "DecodeConcurrency"),
        ({"MmapThresholdKB": -1}, "MmapThresholdKB"),
        ({"MemoryTrimSeconds": 3601}, "MemoryTrimSeconds"),
        ({"MemoryTrimSeconds": 0.5}, "MemoryTrimSeconds"),
        ({"CacheSizeMb": 3}, "CacheSizeMb"),
    ])
    def test_invalid_value_names_the_option(self, section: dict[str, object], option: str) -> None:
        """A wrong value or an unknown key raises ConfigError naming the option."""
        with pytest.raises(ConfigError, match=f"Previewer.{option}"):
            from_section(section)

    def test_section_round_trips(self) -> None:
        """Config.section() reads back to the same configuration."""
        config = Config(cache_size_mb=10, test_modules=("a", "b"))
        assert from_section(json.loads(json.dumps(config.section()))) == config


class TestFiles:
    def test_comments_are_stripped_outside_strings(self) -> None:
        """// and /* */ comments go; the same characters inside strings stay."""
        text = '{ "a": "http://x/*y*/", // one\n /* two */ "b": 1 }'
        assert json.loads(strip_comments(text)) == {"a": "http://x/*y*/", "b": 1}

    def test_folder_of_files_is_merged(self, tmp_path: Path) -> None:
        """A configuration folder's JSON files are merged, as Orthanc does."""
        (tmp_path / "a.json").write_text('{"HttpPort": 1}')
        (tmp_path / "b.json").write_text('{"Previewer": {"CacheSizeMB": 7}} // c')
        assert read_orthanc_configuration(str(tmp_path)) == {"HttpPort": 1, "Previewer": {"CacheSizeMB": 7}}
        assert load(str(tmp_path)).cache_size_mb == 7

    def test_bad_json_names_the_file(self, tmp_path: Path) -> None:
        """An unparsable file raises ConfigError naming it."""
        path = tmp_path / "orthanc.json"
        path.write_text("{ nope")
        with pytest.raises(ConfigError, match="orthanc.json"):
            load(str(path))

    def test_no_path_gives_defaults(self) -> None:
        """Orthanc started without a configuration file gives the defaults."""
        assert load(None) == Config()
