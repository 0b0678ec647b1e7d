/* How the embedded Python comes up.  Compiled after native/internal.h.
 *
 * Python starts in one of three ways (docs/INSTALL.md, "Beside the Python plugin"):
 * - nobody started it and no other plugin will: we start it now, as the
 *   interpreter of the virtualenv the plugin was built in;
 * - another plugin (Debian's orthanc-python) started it before us: we join
 *   it now, with our folders reachable through native/isolation.py only;
 * - another configured plugin needs libpython but loads after us
 *   (native/plugin_scan.c): it must be the one to start Python (3.12+ aborts
 *   if Python is already running when it registers its module), so we
 *   register a C trampoline for our routes now and join its interpreter once
 *   every plugin is initialised: on OrthancStarted, or at the first request,
 *   whichever comes first.
 * In every mode, stored instances and deletions reach Python through the
 * queue of native/events.c, never by taking the GIL in Orthanc's threads.
 * A second Python (another minor version or another build of libpython)
 * cannot share the process: the plugin refuses to load, in one log line. */

/* An extern "Python" callback (native/callbacks.h), defined later by cffi. */
static OrthancPluginErrorCode _previewer_on_rest(
    OrthancPluginRestOutput*, const char*, const OrthancPluginHttpRequest*);

int previewer_python_ready = 0;
/* The deferred start: 0 not begun, 1 under way, 2 over (ready or failed). */
static int previewer_start_state = 0;
static pthread_mutex_t previewer_start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t previewer_start_over = PTHREAD_COND_INITIALIZER;
static __thread int previewer_starting_here = 0;

void previewer_log_error(const char* prefix, const char* detail)
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
int previewer_promote_libraries(void)
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

/* --- which Python ---------------------------------------------------------- */

static int previewer_same_file(const char* a, const char* b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The file of the libpython whose API this plugin calls: the one bound to
 * its Py_* symbols, whoever loaded it. */
static const char* previewer_bound_libpython(void)
{
    Dl_info info;
    if (dladdr((void*) &Py_IsInitialized, &info) == 0 || info.dli_fname == NULL)
        return "(unknown)";
    return info.dli_fname;
}

typedef struct
{
    dev_t dev;
    ino_t ino;           /* the first libpython file seen (0: none yet) */
    int others;          /* other libpython files loaded */
} previewer_libpythons;

static int previewer_count_libpython(struct dl_phdr_info* info, size_t size, void* data)
{
    previewer_libpythons* seen = (previewer_libpythons*) data;
    const char* base = strrchr(info->dlpi_name, '/');
    struct stat here;
    (void) size;
    base = base ? base + 1 : info->dlpi_name;
    if (strncmp(base, "libpython", 9) != 0 || stat(info->dlpi_name, &here) != 0)
        return 0;
    if (seen->ino == 0)
    {
        seen->dev = here.st_dev;
        seen->ino = here.st_ino;
    }
    else if (here.st_dev != seen->dev || here.st_ino != seen->ino)
        seen->others++;
    return 0;
}

/* "make PYTHON=/usr/bin/python3.N" when that interpreter exists, else "make PYTHON=...". */
static const char* previewer_rebuild_hint(int minor, char* hint, size_t size)
{
    char python[64];
    snprintf(python, sizeof(python), "/usr/bin/python3.%d", minor);
    snprintf(hint, size, "make PYTHON=%s", access(python, X_OK) == 0 ? python : "...");
    return hint;
}

/* A Python is already running in this process: refuse (one log line) unless
 * it is the libpython this plugin was built for, and the only one loaded. */
int previewer_check_running_python(void)
{
    char message[2048], hint[96];
    previewer_libpythons seen;
    const char* bound = previewer_bound_libpython();
    const char* running = Py_GetVersion();
    int minor = 0;
    sscanf(running, "3.%d", &minor);
    memset(&seen, 0, sizeof(seen));
    dl_iterate_phdr(previewer_count_libpython, &seen);
    if (previewer_same_file(bound, PREVIEWER_LIBPYTHON) && seen.others == 0)
        return 1;
    snprintf(message, sizeof(message),
             "another plugin already runs Python %.*s (%s%s), but this previewer was built for "
             "Python %s (%s), and two Pythons cannot share one Orthanc; rebuild the previewer "
             "with the other plugin's Python (%s), or load only one of the two plugins",
             (int) strcspn(running, " "), running, bound,
             seen.others ? ", with a second libpython loaded" : "",
             PY_VERSION, PREVIEWER_LIBPYTHON, previewer_rebuild_hint(minor, hint, sizeof(hint)));
    previewer_log_error("refusing to load", message);
    return 0;
}

/* The file the dynamic linker gives a plugin that needs `soname` and has no
 * path of its own for it: the system's library folders, in ld.so's order. */
static const char* previewer_system_library(const char* soname, char* path, size_t size)
{
    static const char* folders[] = {"/lib/" PREVIEWER_MULTIARCH, "/usr/lib/" PREVIEWER_MULTIARCH,
                                    "/lib", "/usr/lib", "/usr/local/lib"};
    size_t i;
    for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++)
    {
        snprintf(path, size, "%s/%s", folders[i], soname);
        if (access(path, R_OK) == 0)
            return path;
    }
    return NULL;
}

/* A plugin loading after us needs libpython: refuse (one log line) unless it
 * is the very libpython this plugin runs. */
int previewer_check_later_python(const previewer_scan* scan)
{
    char message[4096], system_path[PATH_MAX], hint[96];
    const char* theirs = previewer_system_library(scan->soname, system_path, sizeof(system_path));
    int minor = 0;
    sscanf(scan->soname, "libpython3.%d", &minor);
    if (strcmp(scan->soname, PREVIEWER_LIBPYTHON_SONAME) == 0 &&
        (theirs == NULL || previewer_same_file(theirs, PREVIEWER_LIBPYTHON)))
        return 1;
    snprintf(message, sizeof(message),
             "the plugin %s needs %s (%s), but this previewer runs Python %s (%s), and two Pythons "
             "cannot share one Orthanc; rebuild the previewer with that plugin's Python "
             "(%s), or load only one of the two plugins",
             scan->plugin, scan->soname, theirs ? theirs : "not in the system's library folders",
             PY_VERSION, PREVIEWER_LIBPYTHON, previewer_rebuild_hint(minor, hint, sizeof(hint)));
    previewer_log_error("refusing to load", message);
    return 0;
}

/* --- starting or joining Python -------------------------------------------- */

/* Start Python as the interpreter of the virtualenv the plugin was built in:
 * with that venv's python as program name, Python finds its pyvenv.cfg and
 * site-packages.  Returns 1 on success, with the GIL released. */
int previewer_start_python(void)
{
    PyObject* backend;
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
    backend = PyImport_ImportModule("_cffi_backend");
    if (backend == NULL)
        previewer_log_python_error("cannot import _cffi_backend (is the virtualenv "
                                   PREVIEWER_VENV_PYTHON " intact?)");
    Py_XDECREF(backend);
    PyEval_SaveThread();   /* release the GIL; callbacks take it back */
    return backend != NULL;
}

/* Join the running interpreter: run native/isolation.py, which makes our
 * package and virtualenv reachable to our code only, and imports
 * _cffi_backend from there.  Returns 1 on success. */
int previewer_join_python(void)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *module = NULL, *code = NULL, *result = NULL, *shared = NULL;
    int ok = 0;
    module = PyModule_New("_previewer_isolation");
    code = Py_CompileString(PREVIEWER_ISOLATION_CODE, "<previewer isolation>", Py_file_input);
    if (module != NULL && code != NULL &&
        PyModule_AddObjectRef(module, "__builtins__", PyEval_GetBuiltins()) == 0)
        result = PyEval_EvalCode(code, PyModule_GetDict(module), PyModule_GetDict(module));
    if (result != NULL)
        shared = PyObject_CallMethod(module, "join", "sss", PREVIEWER_PACKAGE_DIR, PREVIEWER_SITE_PACKAGES,
                                     PREVIEWER_CFFI_VERSION);
    if (shared == NULL)
        previewer_log_python_error("cannot join the running Python");
    else
    {
        const char* text = PyUnicode_Check(shared) ? PyUnicode_AsUTF8(shared) : NULL;
        char message[8192];
        ok = 1;
        if (text != NULL && text[0] != '\0')
        {
            snprintf(message, sizeof(message), "Orthanc Previewer: joined the Python %s started by "
                     "another plugin; modules it had already imported are shared: %s",
                     PY_VERSION, text);
            OrthancPluginLogWarning(previewer_context, message);
        }
        PyErr_Clear();
    }
    Py_XDECREF(shared); Py_XDECREF(result); Py_XDECREF(code); Py_XDECREF(module);
    PyGILState_Release(gil);
    return ok;
}

int previewer_initialize_package(void)
{
    int result = previewer_initialize(previewer_context);   /* 1 on success; cffi gives 0 if Python failed */
    if (result != 1)
    {
        previewer_log_error("initialisation failed; the plugin is not loaded", NULL);
        return 0;
    }
    previewer_python_ready = 1;
    return 1;
}

/* --- the deferred start ---------------------------------------------------- */

static void previewer_stop_orthanc(void)
{
    OrthancPluginMemoryBuffer answer;
    memset(&answer, 0, sizeof(answer));
    /* Alone, Orthanc would have refused to start; it must not run half-working.
     * /tools/shutdown ends Orthanc with status 0. */
    previewer_log_error("stopping Orthanc, since the previewer could not start (see above)", NULL);
    if (OrthancPluginRestApiPost(previewer_context, &answer, "/tools/shutdown", "", 0) ==
        OrthancPluginErrorCode_Success)
        OrthancPluginFreeMemoryBuffer(previewer_context, &answer);
    else
        previewer_log_error("POST /tools/shutdown failed; stop Orthanc by hand", NULL);
}

static void previewer_deferred_start(void)
{
    int ok, joined = Py_IsInitialized();
    if (joined)
        ok = previewer_check_running_python() && previewer_promote_libraries() && previewer_join_python();
    else
    {
        OrthancPluginLogWarning(previewer_context, "Orthanc Previewer: no other plugin started "
                                "Python; starting the previewer's own");
        ok = previewer_promote_libraries() && previewer_start_python();
    }
    if (ok && previewer_initialize_package())
        OrthancPluginLogWarning(previewer_context, joined ?
                                "Orthanc Previewer: started in the Python of the other plugin" :
                                "Orthanc Previewer: started in its own Python");
    else
        previewer_stop_orthanc();
}

/* Start once, in the first thread that needs it; others wait for it, except
 * a thread that cannot wait: the starting thread itself (its Python code
 * called back into us), or one holding the GIL that the start needs. */
int previewer_started(void)
{
    int ready;
    pthread_mutex_lock(&previewer_start_lock);
    if (previewer_start_state == 0)
    {
        previewer_start_state = 1;
        pthread_mutex_unlock(&previewer_start_lock);
        previewer_starting_here = 1;
        previewer_deferred_start();
        previewer_starting_here = 0;
        pthread_mutex_lock(&previewer_start_lock);
        previewer_start_state = 2;
        pthread_cond_broadcast(&previewer_start_over);
    }
    else if (previewer_start_state == 1 && !previewer_starting_here &&
             !(Py_IsInitialized() && PyGILState_Check()))
    {
        while (previewer_start_state != 2)
            pthread_cond_wait(&previewer_start_over, &previewer_start_lock);
    }
    ready = previewer_python_ready;
    pthread_mutex_unlock(&previewer_start_lock);
    return ready;
}

/* Our routes in the deferred mode, registered before Python runs: start it
 * here if need be, or answer 503 while it cannot serve. */
OrthancPluginErrorCode previewer_rest_trampoline(
    OrthancPluginRestOutput* output, const char* url, const OrthancPluginHttpRequest* request)
{
    static const char starting[] = "{\"error\": \"the previewer is starting; retry in a moment\", "
        "\"status\": 503}";
    static const char failed[] = "{\"error\": \"the previewer could not start beside the other "
        "plugin's Python; the reason is in Orthanc's log\", \"status\": 503}";
    int over;
    if (previewer_started())
        return _previewer_on_rest(output, url, request);
    pthread_mutex_lock(&previewer_start_lock);
    over = previewer_start_state == 2;
    pthread_mutex_unlock(&previewer_start_lock);
    OrthancPluginSetHttpHeader(previewer_context, output, "Content-Type", "application/json");
    if (!over)
        OrthancPluginSetHttpHeader(previewer_context, output, "Retry-After", "1");
    OrthancPluginSendHttpStatus(previewer_context, output, 503, over ? failed : starting,
                                (uint32_t) (over ? sizeof(failed) : sizeof(starting)) - 1);
    return OrthancPluginErrorCode_Success;
}
