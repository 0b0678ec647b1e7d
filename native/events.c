/* A bounded queue of Orthanc events for Python (included after entry.c).
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
static unsigned long long previewer_events_dropped = 0;
static int previewer_events_watched = 0, previewer_events_closed = 0;
static pthread_mutex_t previewer_events_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t previewer_events_ready = PTHREAD_COND_INITIALIZER;

static void previewer_push_event(int kind, const char* id)
{
    pthread_mutex_lock(&previewer_events_lock);
    if ((previewer_events_watched & kind) && !previewer_events_closed && id != NULL)
    {
        if (previewer_events_count == PREVIEWER_EVENT_CAPACITY)
            previewer_events_dropped++;
        else
        {
            previewer_event* slot = &previewer_events[
                (previewer_events_head + previewer_events_count) % PREVIEWER_EVENT_CAPACITY];
            slot->kind = kind;
            snprintf(slot->id, sizeof(slot->id), "%s", id);
            previewer_events_count++;
            pthread_cond_signal(&previewer_events_ready);
        }
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

unsigned long long previewer_dropped_events(void)
{
    unsigned long long dropped;
    pthread_mutex_lock(&previewer_events_lock);
    dropped = previewer_events_dropped;
    pthread_mutex_unlock(&previewer_events_lock);
    return dropped;
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
    previewer_push_event(PREVIEWER_EVENT_STORED, instance_id);
    return OrthancPluginErrorCode_Success;
}

static OrthancPluginErrorCode previewer_on_change_event(
    OrthancPluginChangeType change, OrthancPluginResourceType type, const char* resource_id)
{
    if (change == OrthancPluginChangeType_OrthancStarted && previewer_deferred)
        (void) previewer_started();
    else if (change == OrthancPluginChangeType_Deleted && type == OrthancPluginResourceType_Instance)
        previewer_push_event(PREVIEWER_EVENT_DELETED, resource_id);
    return OrthancPluginErrorCode_Success;
}
