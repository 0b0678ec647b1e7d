/* The four entry points Orthanc looks for, and how the embedded Python comes
 * up.  Included by cffi in the generated module source, after <Python.h>.
 *
 * Python starts in one of three ways (README, "Beside the Python plugin"):
 * - nobody started it and no other plugin will: we start it now, as the
 *   interpreter of the virtualenv the plugin was built in;
 * - another plugin (Debian's orthanc-python) started it before us: we join
 *   it now, with our folders reachable through native/isolation.py only;
 * - another configured plugin needs libpython but loads after us: it must be
 *   the one to start Python (3.12+ aborts if Python is already running when
 *   it registers its module), so we register a C trampoline for our routes
 *   now and join its interpreter once every plugin is initialised: on
 *   OrthancStarted, or at the first request, whichever comes first.
 * In every mode, stored instances and deletions reach Python through the
 * queue of native/events.c, never by taking the GIL in Orthanc's threads.
 * A second Python (another minor version or another build of libpython)
 * cannot share the process: the plugin refuses to load, in one log line. */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <orthanc/OrthancCPlugin.h>

#ifndef PREVIEWER_VERSION
#  error "PREVIEWER_VERSION must be defined by native/build.py"
#endif

int previewer_initialize(OrthancPluginContext* context);
void previewer_finalize(void);
/* An extern "Python" callback (native/callbacks.h), defined later by cffi. */
static OrthancPluginErrorCode _previewer_on_rest(
    OrthancPluginRestOutput*, const char*, const OrthancPluginHttpRequest*);
static int previewer_started(void);

#define PREVIEWER_ROUTES "/previewer(/.*)?"

static OrthancPluginContext* previewer_context = NULL;
static int previewer_python_ready = 0;
static int previewer_deferred = 0;
/* The deferred start: 0 not begun, 1 under way, 2 over (ready or failed). */
static int previewer_start_state = 0;
static pthread_mutex_t previewer_start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t previewer_start_over = PTHREAD_COND_INITIALIZER;
static __thread int previewer_starting_here = 0;

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
static int previewer_check_running_python(void)
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

/* --- which plugins will load after us -------------------------------------- */

static const char* previewer_json_space(const char* p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Read the JSON string at p into out (NULL: skip it); the text after it, or NULL. */
static const char* previewer_json_string(const char* p, char* out, size_t size)
{
    size_t n = 0;
    if (*p != '"')
        return NULL;
    for (p++; *p != '\0' && *p != '"'; p++)
    {
        char c = *p;
        if (c == '\\')
        {
            c = *++p;
            if (c == '\0')
                return NULL;
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c == 'r') c = '\r';
            else if (c == 'b') c = '\b';
            else if (c == 'f') c = '\f';
            else if (c == 'u')
            {
                if (strnlen(p, 5) < 5)
                    return NULL;
                p += 4;
                c = '?';   /* plugin paths are ASCII in practice; a non-ASCII one will not match */
            }
        }
        if (out != NULL && n + 1 < size)
            out[n++] = c;
    }
    if (*p != '"')
        return NULL;
    if (out != NULL && size > 0)
        out[n] = '\0';
    return p + 1;
}

/* Skip one JSON value; the text after it, or NULL. */
static const char* previewer_json_skip(const char* p)
{
    int depth = 0;
    p = previewer_json_space(p);
    if (*p == '"')
        return previewer_json_string(p, NULL, 0);
    if (*p != '{' && *p != '[')
    {
        while (*p != '\0' && *p != ',' && *p != '}' && *p != ']')
            p++;
        return p;
    }
    while (*p != '\0')
    {
        if (*p == '"')
        {
            if ((p = previewer_json_string(p, NULL, 0)) == NULL)
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

typedef struct
{
    struct stat self;             /* this plugin's file */
    char plugin[PATH_MAX];        /* the other plugin that needs libpython */
    char soname[128];             /* the libpython it needs */
} previewer_scan;

/* The libpython soname that an ELF file names (DT_NEEDED strings are plain
 * NUL-terminated text in .dynstr), into soname; 0 if none. */
static int previewer_needed_libpython(const char* path, char* soname, size_t size)
{
    static const char key[] = "libpython3.";
    struct stat st;
    int found = 0;
    const char *data, *p, *end;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || st.st_size < 64)
    {
        close(fd);
        return 0;
    }
    data = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED)
        return 0;
    end = data + st.st_size;
    for (p = data; !found && (p = memmem(p, (size_t) (end - p), key, sizeof(key) - 1)) != NULL; p++)
    {
        /* libpython3.<minor>[abiflags].so[.N...], standing alone between NULs */
        const char* q = p + sizeof(key) - 1;
        if (p > data && p[-1] != '\0')
            continue;
        while (q < end && *q >= '0' && *q <= '9') q++;
        while (q < end && *q >= 'a' && *q <= 'z') q++;
        if (end - q < 3 || memcmp(q, ".so", 3) != 0)
            continue;
        for (q += 3; q < end && (*q == '.' || (*q >= '0' && *q <= '9')); q++)
            ;
        if (q < end && *q == '\0' && (size_t) (q - p) < size)
        {
            memcpy(soname, p, (size_t) (q - p));
            soname[q - p] = '\0';
            found = 1;
        }
    }
    munmap((void*) data, (size_t) st.st_size);
    return found;
}

static int previewer_scan_file(const char* path, previewer_scan* scan)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_dev == scan->self.st_dev && st.st_ino == scan->self.st_ino))
        return 0;
    if (!previewer_needed_libpython(path, scan->soname, sizeof(scan->soname)))
        return 0;
    snprintf(scan->plugin, sizeof(scan->plugin), "%s", path);
    return 1;
}

/* One "Plugins" entry: a file, or a folder whose *.so files Orthanc loads. */
static int previewer_scan_entry(const char* entry, const char* folder, previewer_scan* scan)
{
    char path[PATH_MAX], file[PATH_MAX];
    struct stat st;
    DIR* dir;
    struct dirent* item;
    int found = 0;
    if (entry[0] == '/' || folder[0] == '\0')
        snprintf(path, sizeof(path), "%s", entry);
    else
        snprintf(path, sizeof(path), "%s/%s", folder, entry);
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return previewer_scan_file(path, scan);
    if ((dir = opendir(path)) == NULL)
        return 0;
    while (!found && (item = readdir(dir)) != NULL)
    {
        size_t n = strlen(item->d_name);
        if (n > 3 && strcmp(item->d_name + n - 3, ".so") == 0)
        {
            snprintf(file, sizeof(file), "%s/%s", path, item->d_name);
            found = previewer_scan_file(file, scan);
        }
    }
    closedir(dir);
    return found;
}

/* Whether another configured plugin needs a libpython (then it is still to
 * be loaded: Python is not running yet). */
static int previewer_find_python_plugin(previewer_scan* scan)
{
    char folder[PATH_MAX] = "", entry[PATH_MAX], key[64];
    char* configuration = OrthancPluginGetConfiguration(previewer_context);
    char* configuration_path = OrthancPluginGetConfigurationPath(previewer_context);
    const char* p;
    Dl_info self;
    int found = 0;
    memset(scan, 0, sizeof(*scan));
    if (dladdr((void*) &previewer_find_python_plugin, &self) == 0 || self.dli_fname == NULL ||
        stat(self.dli_fname, &scan->self) != 0)
        memset(&scan->self, 0, sizeof(scan->self));
    if (configuration_path != NULL)
    {
        struct stat st;
        snprintf(folder, sizeof(folder), "%s", configuration_path);
        /* Relative entries are relative to the configuration file's folder
         * (or the folder itself, when Orthanc was given one). */
        if (stat(folder, &st) != 0 || !S_ISDIR(st.st_mode))
        {
            char* slash = strrchr(folder, '/');
            if (slash != NULL) *slash = '\0'; else folder[0] = '\0';
        }
        OrthancPluginFreeString(previewer_context, configuration_path);
    }
    p = configuration ? previewer_json_space(configuration) : NULL;
    if (p != NULL && *p == '{')
    {
        for (p = previewer_json_space(p + 1); p != NULL && *p == '"' && !found; )
        {
            if ((p = previewer_json_string(p, key, sizeof(key))) == NULL)
                break;
            p = previewer_json_space(p);
            if (*p != ':')
                break;
            p = previewer_json_space(p + 1);
            if (strcmp(key, "Plugins") == 0 && *p == '[')
            {
                for (p = previewer_json_space(p + 1); p != NULL && *p != '\0' && *p != ']' && !found; )
                {
                    const char* before = p;
                    if (*p == '"')
                    {
                        p = previewer_json_string(p, entry, sizeof(entry));
                        found = p != NULL && previewer_scan_entry(entry, folder, scan);
                    }
                    else
                        p = previewer_json_skip(p);
                    p = p ? previewer_json_space(p) : NULL;
                    if (p != NULL && *p == ',')
                        p = previewer_json_space(p + 1);
                    else if (p == before)
                        break;   /* malformed: no progress */
                }
                break;
            }
            p = previewer_json_skip(p);
            p = p ? previewer_json_space(p) : NULL;
            if (p != NULL && *p == ',')
                p = previewer_json_space(p + 1);
            else
                break;   /* the end of the object, or malformed */
        }
    }
    if (configuration != NULL)
        OrthancPluginFreeString(previewer_context, configuration);
    return found;
}

static int previewer_already_loaded(const char* path)
{
    void* handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == NULL)
        return 0;
    dlclose(handle);
    return 1;
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
static int previewer_check_later_python(const previewer_scan* scan)
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
static int previewer_start_python(void)
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
static int previewer_join_python(void)
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

static int previewer_initialize_package(void)
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
static int previewer_started(void)
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

int previewer_deferred_mode(void)
{
    return previewer_deferred;
}

static OrthancPluginErrorCode previewer_rest_trampoline(
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

/* The C callbacks of native/events.c, in every mode. */
static OrthancPluginErrorCode previewer_on_stored_event(const OrthancPluginDicomInstance*, const char*);
static OrthancPluginErrorCode previewer_on_change_event(
    OrthancPluginChangeType, OrthancPluginResourceType, const char*);

static void previewer_register_events(void)
{
    OrthancPluginRegisterOnStoredInstanceCallback(previewer_context, previewer_on_stored_event);
    OrthancPluginRegisterOnChangeCallback(previewer_context, previewer_on_change_event);
}

/* --- the entry points ------------------------------------------------------ */

ORTHANC_PLUGINS_API int32_t OrthancPluginInitialize(OrthancPluginContext* context)
{
    previewer_scan scan;
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
    if (Py_IsInitialized())
    {
        if (!previewer_check_running_python() || !previewer_promote_libraries() || !previewer_join_python())
            return -1;
        OrthancPluginLogWarning(context, "Orthanc Previewer: joined the Python that another plugin started");
    }
    /* A Python plugin loaded before us that did not start Python never will. */
    else if (previewer_find_python_plugin(&scan) && !previewer_already_loaded(scan.plugin))
    {
        char message[PATH_MAX + 256];
        if (!previewer_check_later_python(&scan))
            return -1;
        previewer_deferred = 1;
        /* What Orthanc takes only during Initialize; Python adds its handlers
         * behind the REST trampoline once it runs (previewer/sdk.py). */
        OrthancPluginRegisterRestCallbackNoLock(context, PREVIEWER_ROUTES, previewer_rest_trampoline);
        OrthancPluginExtendOrthancExplorer(context, PREVIEWER_EXPLORER_JS);
        previewer_register_events();
        snprintf(message, sizeof(message), "Orthanc Previewer: the plugin %s needs Python too (%s); "
                 "the previewer starts once Orthanc has started, in that plugin's interpreter if it "
                 "runs one", scan.plugin, scan.soname);
        OrthancPluginLogWarning(context, message);
        return 0;
    }
    else if (!previewer_promote_libraries() || !previewer_start_python())
        return -1;
    previewer_register_events();
    return previewer_initialize_package() ? 0 : -1;
}

ORTHANC_PLUGINS_API void OrthancPluginFinalize(void)
{
    previewer_close_events();
    /* Another plugin may have finalized the shared interpreter already. */
    if (previewer_python_ready && Py_IsInitialized())
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
