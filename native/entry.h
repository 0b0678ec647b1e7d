/* Functions of native/entry.c, native/events.c and native/gather.c that Python calls. */
#define PREVIEWER_EVENT_STORED 1
#define PREVIEWER_EVENT_DELETED 2
int previewer_deferred_mode(void);
/* 1 when the deferred start registered Orthanc's own /preview and /rendered routes ("CoreRoutes"). */
int previewer_deferred_core_routes(void);
void previewer_watch_events(int kinds);
void previewer_close_events(void);
int previewer_next_event(char* id, size_t size, int timeout_ms);
unsigned long long previewer_generation(void);
int previewer_gather(const uint16_t* index, size_t count, const void* table, size_t entries,
                     size_t item, void* out);
int previewer_window_table(long lo, long hi, int exact, double center, double width,
                           int levels, int inverse, void* table, size_t item);
