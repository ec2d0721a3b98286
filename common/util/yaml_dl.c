/* common/util/yaml_dl.c - the libyaml functions ctrbox uses (the config file's event parser),
 * forwarded to the library opened on first use (common/util/dynlib.h explains why). Each
 * definition has the name and the type of the real one, checked against <yaml.h>. Only
 * yaml_parser_initialize can be the first call; the others take a parser or an event it made. */
#include <yaml.h>

#include "common/util/dynlib.h"
#include "common/util/yaml_dl.h"

#ifndef YAML_SONAME
#define YAML_SONAME "libyaml-0.so.2"
#endif

static struct {
	int (*yaml_parser_initialize)(yaml_parser_t *);
	void (*yaml_parser_delete)(yaml_parser_t *);
	void (*yaml_parser_set_input_string)(yaml_parser_t *, const unsigned char *, size_t);
	int (*yaml_parser_parse)(yaml_parser_t *, yaml_event_t *);
	void (*yaml_event_delete)(yaml_event_t *);
} fn;

#define SYM(name) {#name, (void **)&fn.name}
static const struct dynlib_sym syms[] = {
	SYM(yaml_parser_initialize), SYM(yaml_parser_delete), SYM(yaml_parser_set_input_string),
	SYM(yaml_parser_parse),      SYM(yaml_event_delete),
};
static struct dynlib lib = DYNLIB_INIT(YAML_SONAME, syms);

int yaml_dl_require(struct err *e)
{
	return dynlib_require(&lib, e);
}

/* 0 (failure, and a line on stderr) when the library is missing. */
int yaml_parser_initialize(yaml_parser_t *parser)
{
	return dynlib_ready(&lib) ? fn.yaml_parser_initialize(parser) : 0;
}

void yaml_parser_delete(yaml_parser_t *parser)
{
	dynlib_must(&lib);
	fn.yaml_parser_delete(parser);
}

void yaml_parser_set_input_string(yaml_parser_t *parser, const unsigned char *input, size_t size)
{
	dynlib_must(&lib);
	fn.yaml_parser_set_input_string(parser, input, size);
}

int yaml_parser_parse(yaml_parser_t *parser, yaml_event_t *event)
{
	dynlib_must(&lib);
	return fn.yaml_parser_parse(parser, event);
}

void yaml_event_delete(yaml_event_t *event)
{
	dynlib_must(&lib);
	fn.yaml_event_delete(event);
}
