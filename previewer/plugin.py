"""Start-up and shut-down of the plugin inside Orthanc (called from native/init.py)."""
from __future__ import annotations

import faulthandler
import importlib.util
import traceback
from types import ModuleType
from typing import Any

from . import __version__, app, sdk
from .config import SECTION, Config, ConfigError, from_section

_modules: list[ModuleType] = []


def _load_test_module(path: str, config: Config) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"previewer_test_module_{len(_modules)}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f'"Previewer.TestModules": cannot load {path!r}')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install(config)
    return module


def initialize(context: Any) -> int:
    """Read the configuration and register everything; 1 on success, -1 on failure."""
    sdk.bind(context)
    # A fatal signal prints every Python thread's stack to stderr (Orthanc's log).
    faulthandler.enable(all_threads=True)
    try:
        config = from_section(sdk.configuration().get(SECTION, {}))
        sdk.log_warning(f"Orthanc Previewer {__version__}: {config.describe()}")
        if config.mmap_threshold_kb and not sdk.set_mmap_threshold(config.mmap_threshold_kb * 1024):
            sdk.log_warning("Orthanc Previewer: glibc refused the MmapThresholdKB setting")
        app.install(config)
        for path in config.test_modules:
            _modules.append(_load_test_module(path, config))
            sdk.log_warning(f"Orthanc Previewer: loaded test module {path}")
    except ConfigError as error:
        sdk.log_error(f"Orthanc Previewer: invalid configuration: {error}")
        return -1
    except BaseException:  # noqa: BLE001 - reported, and Orthanc refuses to start
        sdk.log_error(f"Orthanc Previewer: initialisation failed:\n{traceback.format_exc()}")
        return -1
    return 1


def finalize() -> None:
    """Stop background work before Orthanc unloads the plugin."""
    app.shutdown()
    for module in _modules:
        stop = getattr(module, "finalize", None)
        if stop is not None:
            stop()
