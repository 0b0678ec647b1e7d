/* Callbacks that Orthanc calls and Python implements (previewer/sdk.py). */
extern "Python" {
    OrthancPluginErrorCode _previewer_on_rest(
        OrthancPluginRestOutput*, const char*, const OrthancPluginHttpRequest*);
    OrthancPluginErrorCode _previewer_on_stored(const OrthancPluginDicomInstance*, const char*);
    OrthancPluginErrorCode _previewer_on_change(
        OrthancPluginChangeType, OrthancPluginResourceType, const char*);
    OrthancPluginErrorCode _previewer_storage_create(
        const char*, const void*, int64_t, OrthancPluginContentType);
    OrthancPluginErrorCode _previewer_storage_read(
        void**, int64_t*, const char*, OrthancPluginContentType);
    OrthancPluginErrorCode _previewer_storage_remove(const char*, OrthancPluginContentType);
}
