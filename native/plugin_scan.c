/* Which plugins will load after us: whether another plugin in the "Plugins"
 * of Orthanc's configuration needs a libpython, read from the DT_NEEDED
 * names of its ELF file.  Compiled after native/internal.h. */

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
int previewer_find_python_plugin(previewer_scan* scan)
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

int previewer_already_loaded(const char* path)
{
    void* handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == NULL)
        return 0;
    dlclose(handle);
    return 1;
}

/* Whether "Previewer": {"CoreRoutes": true} is in Orthanc's configuration (previewer/config.py reads
 * the same option once Python runs; when the start is deferred, only what is registered during
 * Initialize exists, so the C part registers the core routes it asks for). */
int previewer_core_routes_enabled(void)
{
    char* configuration = OrthancPluginGetConfiguration(previewer_context);
    const char* section = configuration ? previewer_json_member(configuration, "Previewer") : NULL;
    const char* value = section ? previewer_json_member(section, "CoreRoutes") : NULL;
    int enabled = value != NULL && strncmp(value, "true", 4) == 0;
    if (configuration != NULL)
        OrthancPluginFreeString(previewer_context, configuration);
    return enabled;
}
