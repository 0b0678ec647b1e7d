/* What the C files of the plugin share.  native/build.py compiles them as one
 * unit, after <Python.h>, native/entry.h and this header, because they call
 * functions that cffi defines as static later in the same unit.
 *
 * What is declared here is hidden: the library exports only Orthanc's four
 * entry points and the functions cffi knows of (native/entry.h,
 * native/embedding.h), as when all of this was one file.  What one file keeps
 * to itself is static there. */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <math.h>
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

#define PREVIEWER_SHARED __attribute__((visibility("hidden")))

/* The two functions that the C code calls into Python (native/embedding.h;
 * cffi defines them, and their bodies are in native/init.py). */
int previewer_initialize(OrthancPluginContext* context);
void previewer_finalize(void);

/* --- native/entry.c: the Orthanc entry points ------------------------------ */

/* What Orthanc passed to OrthancPluginInitialize. */
PREVIEWER_SHARED extern OrthancPluginContext* previewer_context;
/* Python starts once Orthanc has (another plugin that loads after us needs
 * it); previewer_deferred_mode() of native/entry.h tells Python. */
PREVIEWER_SHARED extern int previewer_deferred;

/* --- native/json_scan.c: just enough JSON to read "Plugins" ---------------- */

PREVIEWER_SHARED const char* previewer_json_space(const char* p);
PREVIEWER_SHARED const char* previewer_json_string(const char* p, char* out, size_t size);
PREVIEWER_SHARED const char* previewer_json_skip(const char* p);
PREVIEWER_SHARED const char* previewer_json_member(const char* p, const char* key);
PREVIEWER_SHARED int previewer_core_routes_enabled(void);

/* --- native/plugin_scan.c: which configured plugins need a libpython ------- */

typedef struct
{
    struct stat self;             /* this plugin's file */
    char plugin[PATH_MAX];        /* the other plugin that needs libpython */
    char soname[128];             /* the libpython it needs */
} previewer_scan;

PREVIEWER_SHARED int previewer_find_python_plugin(previewer_scan* scan);
PREVIEWER_SHARED int previewer_already_loaded(const char* path);

/* --- native/python_start.c: starting or joining Python, now or deferred ---- */

PREVIEWER_SHARED extern int previewer_python_ready;   /* the package is initialised */

PREVIEWER_SHARED void previewer_log_error(const char* prefix, const char* detail);
PREVIEWER_SHARED int previewer_check_running_python(void);
PREVIEWER_SHARED int previewer_check_later_python(const previewer_scan* scan);
PREVIEWER_SHARED int previewer_promote_libraries(void);
PREVIEWER_SHARED int previewer_start_python(void);
PREVIEWER_SHARED int previewer_join_python(void);
PREVIEWER_SHARED int previewer_initialize_package(void);
PREVIEWER_SHARED int previewer_started(void);
PREVIEWER_SHARED OrthancPluginErrorCode previewer_rest_trampoline(
    OrthancPluginRestOutput* output, const char* url, const OrthancPluginHttpRequest* request);

/* --- native/events.c: the queue of Orthanc events for Python --------------- */

PREVIEWER_SHARED void previewer_register_events(void);
