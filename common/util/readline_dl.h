/* common/util/readline_dl.h - GNU readline and its history, opened on first use
 * (common/util/dynlib.h) for the shell applet's prompt. Unlike the other libraries, readline
 * is driven through exported variables (rl_line_buffer, rl_attempted_completion_function...),
 * which no forwarding definition can stand in for: its user goes through this table of the
 * functions and of the variables' addresses instead, and references no readline symbol. */
#ifndef CTRBOX_UTIL_READLINE_DL_H
#define CTRBOX_UTIL_READLINE_DL_H

#include <stdio.h> /* readline.h needs FILE */

#include <readline/history.h>
#include <readline/readline.h>

#include "common/util/err.h"

/* Each member is named after what it reaches and typed from the real declaration, so the
 * headers keep checking every call: a function is called as rl->readline(prompt), a variable
 * used as *rl->rl_line_buffer. */
struct readline_dl {
	__typeof__(readline) *readline;
	__typeof__(rl_replace_line) *rl_replace_line;
	__typeof__(rl_crlf) *rl_crlf;
	__typeof__(rl_on_new_line) *rl_on_new_line;
	__typeof__(rl_redisplay) *rl_redisplay;
	__typeof__(using_history) *using_history;
	__typeof__(stifle_history) *stifle_history;
	__typeof__(read_history) *read_history;
	__typeof__(add_history) *add_history;
	__typeof__(append_history) *append_history;
	__typeof__(history_get) *history_get;
	__typeof__(history_truncate_file) *history_truncate_file;
	__typeof__(clear_history) *clear_history;

	__typeof__(rl_readline_name) *rl_readline_name;
	__typeof__(rl_line_buffer) *rl_line_buffer;
	__typeof__(rl_attempted_completion_function) *rl_attempted_completion_function;
	__typeof__(rl_attempted_completion_over) *rl_attempted_completion_over;
	__typeof__(rl_completion_suppress_append) *rl_completion_suppress_append;
	__typeof__(rl_completer_word_break_characters) *rl_completer_word_break_characters;
	__typeof__(rl_completer_quote_characters) *rl_completer_quote_characters;
	__typeof__(rl_signal_event_hook) *rl_signal_event_hook;
	__typeof__(history_base) *history_base;
	__typeof__(history_length) *history_length;
};

/* Opens libreadline (once, whichever thread asks first) and returns its table, which lives as
 * long as the process; NULL with E_UNSUPPORTED and the loader's reason in e when the library
 * or one of its symbols is missing. */
const struct readline_dl *readline_dl_open(struct err *e);

#endif
