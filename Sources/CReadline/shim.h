#ifndef RSTDOCTOR_CREADLINE_SHIM_H
#define RSTDOCTOR_CREADLINE_SHIM_H
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
/* Swift 6 rejects direct use of C mutable globals: reach them through these. */
static inline int rstd_history_length(void) { return history_length; }
static inline void rstd_set_completion(rl_completion_func_t *f) { rl_attempted_completion_function = f; }
static inline void rstd_set_completion_over(int v) { rl_attempted_completion_over = v; }
static inline const char *rstd_line_buffer(void) { return rl_line_buffer; }
static inline void rstd_set_catch_signals(int v) { rl_catch_signals = v; }
#endif
