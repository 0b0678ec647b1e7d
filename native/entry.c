/* The four entry points Orthanc looks for, and the start of the embedded
 * Python interpreter.  Included by cffi in the generated module source, after
 * <Python.h>. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <orthanc/OrthancCPlugin.h>

#ifndef PREVIEWER_VERSION
#  error "PREVIEWER_VERSION must be defined by native/build.py"
#endif

int previewer_initialize(OrthancPluginContext* context);
void previewer_finalize(void);

static OrthancPluginContext* previewer_context = NULL;
static int previewer_python_ready = 0;

static void previewer_log_error(const char* prefix, const char* detail)
{
    char message[8192];
    snprintf(message, sizeof(message), "Orthanc Previewer: %s%s%s",
             prefix, detail ? ": " : "", detail ? detail : "");
    OrthancPluginLogError(previewer_context, message);
}

/* Log the pending Python exception, with its traceback, through Orthanc.
 * The GIL must be held. */
static void previewer_log_python_error(const char* prefix)
{
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    PyObject *module = NULL, *lines = NULL, *empty = NULL, *text = NULL;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    module = PyImport_ImportModule("traceback");
    if (module != NULL && type != NULL)
        lines = PyObject_CallMethod(module, "format_exception", "OOO", type,
                                    value ? value : Py_None, tb ? tb : Py_None);
    empty = PyUnicode_FromString("");
    if (lines != NULL && empty != NULL)
        text = PyUnicode_Join(empty, lines);
    previewer_log_error(prefix, text ? PyUnicode_AsUTF8(text) : "(no traceback available)");
    PyErr_Clear();
    Py_XDECREF(text); Py_XDECREF(empty); Py_XDECREF(lines); Py_XDECREF(module);
    Py_XDECREF(type); Py_XDECREF(value); Py_XDECREF(tb);
}

/* Orthanc opens plugins without RTLD_GLOBAL: promote libpython so that
 * extension modules (_cffi_backend, numpy) resolve its symbols, and pin this
 * plugin in memory, since Python objects keep pointers into it. */
static int previewer_promote_libraries(void)
{
    Dl_info self;
    if (dlopen(PREVIEWER_LIBPYTHON, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == NULL &&
        dlopen(PREVIEWER_LIBPYTHON_SONAME, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == NULL)
    {
        previewer_log_error("cannot re-open libpython with RTLD_GLOBAL", dlerror());
        return 0;
    }
    if (dladdr((void*) &previewer_promote_libraries, &self) != 0 && self.dli_fname != NULL)
        dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
    return 1;
}

/* Start Python as the interpreter of the virtualenv the plugin was built in:
 * with that venv's python as program name, Python finds its pyvenv.cfg and
 * site-packages.  Returns 1 on success, with the GIL released. */
static int previewer_start_python(void)
{
    PyObject* backend;
    int ok;
    int started_here = !Py_IsInitialized();
    PyGILState_STATE gil = PyGILState_UNLOCKED;
    if (started_here)
    {
        PyStatus status;
        PyConfig config;
        PyConfig_InitPythonConfig(&config);
        config.install_signal_handlers = 0;
        config.parse_argv = 0;
        status = PyConfig_SetBytesString(&config, &config.program_name, PREVIEWER_VENV_PYTHON);
        if (!PyStatus_Exception(status))
            status = PyConfig_SetBytesString(&config, &config.executable, PREVIEWER_VENV_PYTHON);
        if (!PyStatus_Exception(status))
            status = Py_InitializeFromConfig(&config);
        PyConfig_Clear(&config);
        if (PyStatus_Exception(status))
        {
            previewer_log_error("cannot start Python", status.err_msg ? status.err_msg : "unknown error");
            return 0;
        }
    }
    else
    {
        gil = PyGILState_Ensure();
    }
    backend = PyImport_ImportModule("_cffi_backend");
    if (backend == NULL)
    {
        previewer_log_python_error("cannot import _cffi_backend (is the virtualenv "
                                   PREVIEWER_VENV_PYTHON " intact?)");
    }
    ok = backend != NULL;
    Py_XDECREF(backend);
    if (started_here)
        PyEval_SaveThread();   /* release the GIL; callbacks take it back */
    else
        PyGILState_Release(gil);
    return ok;
}

ORTHANC_PLUGINS_API int32_t OrthancPluginInitialize(OrthancPluginContext* context)
{
    int result;
    previewer_context = context;
    if (!OrthancPluginCheckVersion(context))
    {
        char message[256];
        snprintf(message, sizeof(message), "this Orthanc (%s) is older than the SDK the plugin "
                 "was built with (%d.%d.%d)", context->orthancVersion,
                 ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER, ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER);
        previewer_log_error(message, NULL);
        return -1;
    }
    if (!previewer_promote_libraries() || !previewer_start_python())
        return -1;
    result = previewer_initialize(context);   /* 1 on success; cffi gives 0 if Python failed */
    if (result != 1)
    {
        previewer_log_error("initialisation failed; the plugin is not loaded", NULL);
        return -1;
    }
    previewer_python_ready = 1;
    return 0;
}

ORTHANC_PLUGINS_API void OrthancPluginFinalize(void)
{
    if (previewer_python_ready)
        previewer_finalize();
    previewer_python_ready = 0;
}

ORTHANC_PLUGINS_API const char* OrthancPluginGetName(void)
{
    return "previewer";
}

ORTHANC_PLUGINS_API const char* OrthancPluginGetVersion(void)
{
    return PREVIEWER_VERSION;
}
