/* The four entry points Orthanc looks for: OrthancPluginInitialize picks how
 * Python comes up (native/python_start.c: start our own, join the one that
 * another plugin started, or defer the start when a plugin that loads after
 * us needs Python, native/plugin_scan.c), registers the event callbacks of
 * native/events.c, and initialises the Python package; OrthancPluginFinalize
 * closes the event queue and finalises the package.  Compiled after
 * native/internal.h. */

#define PREVIEWER_ROUTES "/previewer(/.*)?"
/* Orthanc's own image routes, as previewer/plugin/table.py's core_routes() compiles them
 * (tests/test_table.py checks that the two lists agree). */
static const char* const PREVIEWER_CORE_ROUTES[] = {
    "/instances/([^/]+)/preview", "/instances/([^/]+)/frames/([0-9]+)/preview",
    "/instances/([^/]+)/rendered", "/instances/([^/]+)/frames/([0-9]+)/rendered",
};

OrthancPluginContext* previewer_context = NULL;
int previewer_deferred = 0;
static int previewer_core_routes = 0;

int previewer_deferred_mode(void)
{
    return previewer_deferred;
}

int previewer_deferred_core_routes(void)
{
    return previewer_core_routes;
}

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
        if (previewer_core_routes_enabled())
        {
            size_t i;
            for (i = 0; i < sizeof(PREVIEWER_CORE_ROUTES) / sizeof(PREVIEWER_CORE_ROUTES[0]); i++)
                OrthancPluginRegisterRestCallbackNoLock(context, PREVIEWER_CORE_ROUTES[i], previewer_rest_trampoline);
            previewer_core_routes = 1;
        }
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
