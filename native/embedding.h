/* The two functions that the C entry points call into Python
 * (cffi embedding API; their bodies are in native/init.py). */
int previewer_initialize(OrthancPluginContext* context);
void previewer_finalize(void);
