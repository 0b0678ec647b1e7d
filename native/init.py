# Embedded-Python start-up code of libOrthancPreviewer.so (cffi's
# embedding_init_code).  It runs once, when the C entry point first calls
# into Python.  It must never raise: an import failure is kept and reported
# through Orthanc's log by previewer_initialize, which then returns -1.
import traceback

from _previewer_native import ffi, lib


def _import_plugin():
    try:
        from previewer.plugin import main as plugin
    except BaseException:
        return None, traceback.format_exc()
    return plugin, ""


_plugin, _import_error = _import_plugin()


@ffi.def_extern(error=0)
def previewer_initialize(context):
    if _plugin is None:
        message = "Orthanc Previewer: cannot import the Python package 'previewer':\n" + _import_error
        lib.OrthancPluginLogError(context, message.encode("utf-8", "replace"))
        return -1
    return _plugin.initialize(context)


@ffi.def_extern()
def previewer_finalize():
    if _plugin is not None:
        _plugin.finalize()
