/* wt_tools_int - the tool implementations behind wt_tools_run. */
#ifndef WT_TOOLS_INT_H
#define WT_TOOLS_INT_H

#include "wt_tools.h"

#include <stdarg.h>

/* Fills out as an error result; returns 0 (the tool ran). */
int wt_tools_fail(wt_tool_result_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wt_tool_bash(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out);
int wt_tool_read(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out);
int wt_tool_write(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out);
int wt_tool_edit(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out);
int wt_tool_glob(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out);
int wt_tool_grep(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out);

#endif
