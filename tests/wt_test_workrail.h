/* wt_test_workrail.h - where the unit tests find WorkRail v3.37.1's files:
 * the full fixture folder ../shared/fixtures/workrail-v3.37.1 when present,
 * else the copies the project ships in tests/fixtures/workrail-v3.37.1 (same
 * layout, MIT licence alongside); WT_WORKRAIL_FIXTURES=DIR picks one (to run
 * the clean-clone case here). Tests run from the source directory. */
#ifndef WT_TEST_WORKRAIL_H
#define WT_TEST_WORKRAIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WT_WORKRAIL_SHARED  "../shared/fixtures/workrail-v3.37.1"
#define WT_WORKRAIL_SHIPPED "tests/fixtures/workrail-v3.37.1"

/* The fixture root in use; says once on stderr which one. */
static inline const char *
wt_test_workrail_root(void)
{
    static const char *root;
    if (root == NULL) {
        root = getenv("WT_WORKRAIL_FIXTURES");
        if (root == NULL || root[0] == '\0')
            root = access(WT_WORKRAIL_SHARED "/workflows", R_OK) == 0 ? WT_WORKRAIL_SHARED
                                                                      : WT_WORKRAIL_SHIPPED;
        fprintf(stderr, "  WorkRail fixtures from %s\n", root);
    }
    return root;
}

/* Nonzero when the full folder (all 43 workflow files) is in use. */
static inline int
wt_test_workrail_full(void)
{
    return strstr(wt_test_workrail_root(), WT_WORKRAIL_SHIPPED) == NULL;
}

/* ROOT/workflows/REL in buf. */
static inline const char *
wt_test_workrail_file(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/workflows/%s", wt_test_workrail_root(), rel);
    return buf;
}

#endif
