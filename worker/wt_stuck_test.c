/* Unit tests of the stuck detector: three identical calls in a row, 8 idle
 * turns out of 10, and the deadline warning that fires once. */
#include "wt_stuck.h"
#include "wt_test.h"

static void
test_repeated_tool_call(void)
{
    wt_stuck_t s;
    wt_stuck_init(&s);
    json_t *a = json_pack("{s:s,s:i}", "command", "ls", "timeout", 5);
    json_t *a_reordered = json_pack("{s:i,s:s}", "timeout", 5, "command", "ls");
    json_t *b = json_pack("{s:s}", "command", "pwd");
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", a_reordered) == 0); /* key order does not matter */
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", a) == 1);           /* third in a row */
    WT_CHECK(strstr(wt_stuck_last_call(&s), "Bash") != NULL);
    WT_CHECK(strstr(wt_stuck_last_call(&s), "\"ls\"") != NULL);
    /* the count starts over after firing */
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", a) == 0);
    /* an interruption resets the run */
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", b) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Bash", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Read", a) == 0); /* same args, other tool */
    WT_CHECK(wt_stuck_tool_call(&s, "Read", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Read", a) == 1);
    json_decref(a);
    json_decref(a_reordered);
    json_decref(b);
}

static void
test_progress_resets_repeat(void)
{
    wt_stuck_t s;
    wt_stuck_init(&s);
    json_t *a = json_pack("{s:s}", "notes", "done");
    /* each call advanced a step: however many, never a repeat */
    for (int i = 0; i < 6; i++) {
        WT_CHECK(wt_stuck_tool_call(&s, "complete_step", a) == 0);
        wt_stuck_progress(&s);
    }
    /* a call that did not advance starts counting from one again */
    WT_CHECK(wt_stuck_tool_call(&s, "complete_step", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "complete_step", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "complete_step", a) == 1);
    json_decref(a);
}

static void
test_long_arguments_compared_whole(void)
{
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wt_stuck_t s;
    wt_stuck_init(&s);
    json_t *a = json_pack("{s:s,s:s}", "content", big, "path", "a");
    json_t *b = json_pack("{s:s,s:s}", "content", big, "path", "b");
    WT_CHECK(wt_stuck_tool_call(&s, "Write", a) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Write", b) == 0);
    WT_CHECK(wt_stuck_tool_call(&s, "Write", a) == 0); /* differs only past 1,000 chars */
    json_decref(a);
    json_decref(b);
}

static void
test_no_progress(void)
{
    wt_stuck_t s;
    wt_stuck_init(&s);
    /* 2 advancing turns among 10: 8 idle -> fires on the 10th turn */
    int fired_at = -1;
    for (int i = 0; i < 10; i++)
        if (wt_stuck_turn(&s, i == 0 || i == 5) && fired_at < 0)
            fired_at = i;
    WT_CHECK(fired_at == 9);
    /* 3 advancing turns among 10: 7 idle -> never fires */
    wt_stuck_init(&s);
    int fired = 0;
    for (int i = 0; i < 30; i++)
        fired |= wt_stuck_turn(&s, i % 3 == 0);
    WT_CHECK(fired == 0);
    /* idle forever: fires every 10 turns, not every turn */
    wt_stuck_init(&s);
    int count = 0;
    for (int i = 0; i < 30; i++)
        count += wt_stuck_turn(&s, 0);
    WT_CHECK(count == 3);
}

static void
test_deadline_once(void)
{
    wt_stuck_t s;
    wt_stuck_init(&s);
    WT_CHECK(wt_stuck_deadline(&s, 50000, 60000) == 0);
    WT_CHECK(wt_stuck_deadline(&s, 49000, 60000) == 0); /* 1 s per check: far from the end */
    wt_stuck_init(&s);
    WT_CHECK(wt_stuck_deadline(&s, 6000, 60000) == 0); /* exactly 10% is not "within" */
    WT_CHECK(wt_stuck_deadline(&s, 5999, 60000) == 1);
    WT_CHECK(wt_stuck_deadline(&s, 100, 60000) == 0); /* once */
    WT_CHECK(wt_stuck_deadline(&s, 0, 0) == 0);
}

/* Turns slower than a tenth of the limit: 3 s limit, a check every 700 ms.
 * The 10% rule alone would see 2,200, 1,500, 800 and then the end. */
static void
test_deadline_slow_turns(void)
{
    wt_stuck_t s;
    wt_stuck_init(&s);
    WT_CHECK(wt_stuck_deadline(&s, 2900, 3000) == 0);
    WT_CHECK(wt_stuck_deadline(&s, 2200, 3000) == 0);
    WT_CHECK(wt_stuck_deadline(&s, 1500, 3000) == 0); /* 1,500 = two 700 ms turns and more */
    WT_CHECK(wt_stuck_deadline(&s, 800, 3000) == 1);  /* under two turns left */
    WT_CHECK(wt_stuck_deadline(&s, 100, 3000) == 0);  /* once */
}

WT_TEST_MAIN(WT_TEST(test_repeated_tool_call), WT_TEST(test_progress_resets_repeat),
             WT_TEST(test_long_arguments_compared_whole), WT_TEST(test_no_progress),
             WT_TEST(test_deadline_once), WT_TEST(test_deadline_slow_turns))
