/* common/util/readline_dl.c - GNU readline opened on first use, its functions and variables
 * resolved into the table of readline_dl.h (common/util/dynlib.h explains why). */
#include "common/util/readline_dl.h"
#include "common/util/dynlib.h"

#ifndef READLINE_SONAME
#define READLINE_SONAME "libreadline.so.8"
#endif

static struct readline_dl api;

/* A variable's symbol resolves to its address, which is what the table holds for it. */
#define SYM(name) {#name, (void **)&api.name}
static const struct dynlib_sym syms[] = {
	SYM(readline),
	SYM(rl_replace_line),
	SYM(rl_crlf),
	SYM(rl_on_new_line),
	SYM(rl_redisplay),
	SYM(using_history),
	SYM(stifle_history),
	SYM(read_history),
	SYM(add_history),
	SYM(append_history),
	SYM(history_get),
	SYM(history_truncate_file),
	SYM(clear_history),
	SYM(rl_readline_name),
	SYM(rl_line_buffer),
	SYM(rl_attempted_completion_function),
	SYM(rl_attempted_completion_over),
	SYM(rl_completion_suppress_append),
	SYM(rl_completer_word_break_characters),
	SYM(rl_completer_quote_characters),
	SYM(rl_signal_event_hook),
	SYM(history_base),
	SYM(history_length),
};
static struct dynlib lib = DYNLIB_INIT(READLINE_SONAME, syms);

const struct readline_dl *readline_dl_open(struct err *e)
{
	return dynlib_require(&lib, e) < 0 ? NULL : &api;
}
