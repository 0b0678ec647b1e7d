/* A bounded queue of Orthanc events for Python.  Compiled after
 * native/internal.h.
 *
 * Orthanc calls its stored-instance and change callbacks in its own threads
 * (HTTP, jobs, changes).  Taking the GIL there can deadlock beside Debian's
 * orthanc-python, whose scripts keep the GIL while they wait in the SDK, for
 * instance for an /anonymize job whose thread stores new instances.  So the C
 * callbacks only queue the instance's ID, and a Python thread takes them with
 * previewer_next_event (cffi releases the GIL while it waits). */

#define PREVIEWER_EVENT_CAPACITY 4096
#define PREVIEWER_EVENT_ID 64

typedef struct
{
    int kind;
    char id[PREVIEWER_EVENT_ID];
} previewer_event;

static previewer_event previewer_events[PREVIEWER_EVENT_CAPACITY];
static size_t previewer_events_head = 0, previewer_events_count = 0;
static int previewer_events_watched = 0, previewer_events_closed = 0;
static pthread_mutex_t previewer_events_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t previewer_events_ready = PTHREAD_COND_INITIALIZER;

/* How many times something may have changed a stored file: every stored
 * instance, every change Orthanc reports (deletions among them), and every
 * HTTP request other than GET, counted by its filter before Orthanc handles
 * the request (the change callbacks run later, in Orthanc's changes thread).
 * Python remembers the instances' versions while this stays the same. */
static unsigned long long previewer_changes = 0;

static void previewer_changed(void)
{
    __atomic_add_fetch(&previewer_changes, 1, __ATOMIC_SEQ_CST);
}

unsigned long long previewer_generation(void)
{
    return __atomic_load_n(&previewer_changes, __ATOMIC_SEQ_CST);
}

static void previewer_push_event(int kind, const char* id)
{
    pthread_mutex_lock(&previewer_events_lock);
    /* A full queue drops the event. */
    if ((previewer_events_watched & kind) && !previewer_events_closed && id != NULL &&
        previewer_events_count < PREVIEWER_EVENT_CAPACITY)
    {
        previewer_event* slot = &previewer_events[
            (previewer_events_head + previewer_events_count) % PREVIEWER_EVENT_CAPACITY];
        slot->kind = kind;
        snprintf(slot->id, sizeof(slot->id), "%s", id);
        previewer_events_count++;
        pthread_cond_signal(&previewer_events_ready);
    }
    pthread_mutex_unlock(&previewer_events_lock);
}

void previewer_watch_events(int kinds)
{
    pthread_mutex_lock(&previewer_events_lock);
    previewer_events_watched = kinds;
    previewer_events_closed = 0;
    pthread_mutex_unlock(&previewer_events_lock);
}

void previewer_close_events(void)
{
    pthread_mutex_lock(&previewer_events_lock);
    previewer_events_closed = 1;
    previewer_events_count = 0;
    pthread_cond_broadcast(&previewer_events_ready);
    pthread_mutex_unlock(&previewer_events_lock);
}

/* The next event's kind, with its resource ID in id; 0 after timeout_ms
 * without one, -1 once the queue is closed. */
int previewer_next_event(char* id, size_t size, int timeout_ms)
{
    struct timespec deadline;
    int kind = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
    {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&previewer_events_lock);
    while (previewer_events_count == 0 && !previewer_events_closed)
        if (pthread_cond_timedwait(&previewer_events_ready, &previewer_events_lock, &deadline) != 0)
            break;
    if (previewer_events_closed)
        kind = -1;
    else if (previewer_events_count > 0)
    {
        previewer_event* slot = &previewer_events[previewer_events_head];
        kind = slot->kind;
        snprintf(id, size, "%s", slot->id);
        previewer_events_head = (previewer_events_head + 1) % PREVIEWER_EVENT_CAPACITY;
        previewer_events_count--;
    }
    pthread_mutex_unlock(&previewer_events_lock);
    return kind;
}

static OrthancPluginErrorCode previewer_on_stored_event(
    const OrthancPluginDicomInstance* instance, const char* instance_id)
{
    (void) instance;
    previewer_changed();
    previewer_push_event(PREVIEWER_EVENT_STORED, instance_id);
    return OrthancPluginErrorCode_Success;
}

static OrthancPluginErrorCode previewer_on_change_event(
    OrthancPluginChangeType change, OrthancPluginResourceType type, const char* resource_id)
{
    if (change != OrthancPluginChangeType_OrthancStarted && change != OrthancPluginChangeType_OrthancStopped)
        previewer_changed();
    if (change == OrthancPluginChangeType_OrthancStarted && previewer_deferred)
        (void) previewer_started();
    else if (change == OrthancPluginChangeType_Deleted && type == OrthancPluginResourceType_Instance)
        previewer_push_event(PREVIEWER_EVENT_DELETED, resource_id);
    return OrthancPluginErrorCode_Success;
}

static int32_t previewer_on_http_request(
    OrthancPluginHttpMethod method, const char* uri, const char* ip, uint32_t headers_count,
    const char* const* header_keys, const char* const* header_values, uint32_t arguments_count,
    const char* const* argument_keys, const char* const* argument_values)
{
    (void) uri; (void) ip; (void) headers_count; (void) header_keys; (void) header_values;
    (void) arguments_count; (void) argument_keys; (void) argument_values;
    if (method != OrthancPluginHttpMethod_Get)
        previewer_changed();
    return 1;   /* the filter only counts: every request is allowed */
}

/* The C callbacks of this queue, in every mode. */
void previewer_register_events(void)
{
    OrthancPluginRegisterOnStoredInstanceCallback(previewer_context, previewer_on_stored_event);
    OrthancPluginRegisterOnChangeCallback(previewer_context, previewer_on_change_event);
    OrthancPluginRegisterIncomingHttpRequestFilter2(previewer_context, previewer_on_http_request);
}
