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
static inline void rstd_set_catch_sigwinch(int v) { rl_catch_sigwinch = v; }
static inline void rstd_set_readline_name(const char *n) { rl_readline_name = n; }
static inline void rstd_set_change_environment(int v) { rl_change_environment = v; }
static inline void rstd_set_completion_append_character(int c) { rl_completion_append_character = c; }
static inline void rstd_set_instream(FILE *f) { rl_instream = f; }
static inline void rstd_set_outstream(FILE *f) { rl_outstream = f; }
/* The newest history line, or NULL. */
static inline const char *rstd_last_history_line(void) {
    HIST_ENTRY *e = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    return e ? e->line : NULL;
}
static inline FILE *rstd_instream(void) { return rl_instream ? rl_instream : stdin; }
#endif
