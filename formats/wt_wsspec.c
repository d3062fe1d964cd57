/* wt_wsspec - see wt_wsspec.h. */
#include "wt_wsspec.h"

#include <stdio.h>
#include <string.h>

static int
one_of(const char *v, const char *a, const char *b)
{
    return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

int
wt_wsspec_set(json_t *spec, const char *name, const char *value, char *why, size_t cap)
{
    static const char *const strings[] = {"repo",    "ref",    "deliver", "forge",
                                          "project", "labels", "author",  NULL};
    static const char *const flags[] = {"auto_commit", "draft", "no_verify", NULL};
    if (value == NULL || *value == '\0')
        return snprintf(why, cap, "%s: empty value", name), -1;
    if (strcmp(name, "deliver") == 0 && !one_of(value, "branch", "pr"))
        return snprintf(why, cap, "deliver must be branch or pr, got '%s'", value), -1;
    if (strcmp(name, "forge") == 0 && !one_of(value, "github", "gitlab"))
        return snprintf(why, cap, "forge must be github or gitlab, got '%s'", value), -1;
    if (strcmp(name, "project") == 0 && strchr(value, '/') == NULL)
        return snprintf(why, cap, "forgeProject must be OWNER/NAME, got '%s'", value), -1;
    if (strcmp(name, "ref") == 0 && value[0] == '-') /* git would read it as an option */
        return snprintf(why, cap, "ref must not start with '-', got '%s'", value), -1;
    if (strcmp(name, "author") == 0 && (!strchr(value, '<') || !strchr(value, '>')))
        return snprintf(why, cap, "author must look like 'Name <email>', got '%s'", value), -1;
    for (const char *const *s = strings; *s; s++)
        if (strcmp(name, *s) == 0)
            return json_object_set_new(spec, name, json_string(value)), 0;
    for (const char *const *f = flags; *f; f++)
        if (strcmp(name, *f) == 0) {
            if (!one_of(value, "true", "false"))
                return snprintf(why, cap, "%s must be true or false, got '%s'", name, value), -1;
            return json_object_set_new(spec, name, json_boolean(strcmp(value, "true") == 0)), 0;
        }
    return snprintf(why, cap, "unknown workspace field '%s'", name), -1;
}

char *
wt_wsspec_dump(json_t *spec, char *why, size_t cap)
{
    why[0] = '\0';
    if (json_object_size(spec) == 0)
        return NULL;
    if (!json_is_string(json_object_get(spec, "repo"))) {
        snprintf(why, cap, "--ref, --auto-commit, --deliver and --forge need --repo URL");
        return NULL;
    }
    return json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
}
