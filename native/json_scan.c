/* Just enough of a JSON scanner to find the "Plugins" entries in Orthanc's
 * configuration (native/plugin_scan.c): whitespace, strings and skipping a
 * value, on NUL-terminated text.  Compiled after native/internal.h. */

const char* previewer_json_space(const char* p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Read the JSON string at p into out (NULL: skip it); the text after it, or NULL. */
const char* previewer_json_string(const char* p, char* out, size_t size)
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
const char* previewer_json_skip(const char* p)
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

/* The value of member `key` of the JSON object at p (after its whitespace), or NULL. */
const char* previewer_json_member(const char* p, const char* key)
{
    char name[256];
    p = previewer_json_space(p);
    if (*p != '{')
        return NULL;
    for (p = previewer_json_space(p + 1); p != NULL && *p == '"'; )
    {
        if ((p = previewer_json_string(p, name, sizeof(name))) == NULL)
            return NULL;
        p = previewer_json_space(p);
        if (*p != ':')
            return NULL;
        p = previewer_json_space(p + 1);
        if (strcmp(name, key) == 0)
            return p;
        p = previewer_json_skip(p);
        p = p ? previewer_json_space(p) : NULL;
        if (p == NULL || *p != ',')
            return NULL;
        p = previewer_json_space(p + 1);
    }
    return NULL;
}
