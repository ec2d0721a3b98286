/* common/store/event_query.c - questions asked of the event journal (DESIGN.md lesson 4, issue 7
 * "events"): filters, the last N matching events, and counts per key and bucket with the change
 * against the previous period. Everything reads through journal_reader: no lock. */
#include <stdlib.h>
#include <string.h>

#include "common/store/event_query.h"
#include "common/store/journal_tail.h"
#include "common/util/mem.h"
#include "common/util/units.h"

static bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool object_match(const char *want, const struct event *ev)
{
	const char *kind = object_kind_name(ev->object.kind);
	size_t klen = strlen(kind), wlen = strlen(want);

	if (str_eq(want, ev->object.name) || str_eq(want, ev->object.id))
		return true;
	if (ev->object.id && wlen && strncmp(ev->object.id, want, wlen) == 0)
		return true;
	/* "kind/name" as the OBJECT column shows it */
	if (wlen > klen + 1 && strncmp(want, kind, klen) == 0 && want[klen] == '/') {
		cleanup_free char *label = event_object_label(ev);

		return strcmp(label, want) == 0;
	}
	return false;
}

bool event_filter_match(const struct event_filter *f, const struct event *ev)
{
	if (f->since_ns && ev->time_ns < f->since_ns)
		return false;
	if (f->until_ns && ev->time_ns >= f->until_ns)
		return false;
	if (f->has_type && ev->type != f->type)
		return false;
	if (f->n_reasons) {
		size_t i;

		for (i = 0; i < f->n_reasons; i++)
			if (str_eq(f->reasons[i], ev->reason))
				break;
		if (i == f->n_reasons)
			return false;
	}
	if (f->source && !str_eq(f->source, ev->source))
		return false;
	if (f->object && !object_match(f->object, ev))
		return false;
	return true;
}

char *event_object_label(const struct event *ev)
{
	const char *kind = object_kind_name(ev->object.kind);

	if (ev->object.name && *ev->object.name)
		return xasprintf("%s/%s", kind, ev->object.name);
	if (ev->object.id && *ev->object.id)
		return xasprintf("%s/%.12s", kind, ev->object.id);
	if (ev->object.kind == OBJECT_NODE && ev->host && *ev->host)
		return xasprintf("%s/%s", kind, ev->host);
	return xstrdup(kind);
}

void events_free(struct event *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		event_release(&v[i]);
	free(v);
}

enum line_verdict {
	LINE_NO,    /* cannot match */
	LINE_YES,   /* matches, as far as f goes (still to be parsed) */
	LINE_MAYBE, /* only a parse can tell */
};

/* What a raw journal line says about f, from the fields event_format writes first and without
 * spaces ({"time":"...","type":"...","reason":"...",...}): most lines of a large journal are
 * rejected here without parsing. A line in another layout is MAYBE, and so is any line when f
 * looks at the object or the source. Keys cannot be faked by a message: its quotes are
 * escaped. */
static enum line_verdict line_verdict(const struct event_filter *f, const char *line, size_t len)
{
	static const char tkey[] = "{\"time\":\"";
	const size_t tk = sizeof(tkey) - 1;
	bool canon = len > tk + 20 && memcmp(line, tkey, tk) == 0;
	bool sure = canon && !f->object && !f->source;

	if (f->since_ns || f->until_ns) {
		const char *q = canon ? memchr(line + tk, '"', len - tk < 48 ? len - tk : 48) : NULL;
		struct err te = ERR_INIT;
		char ts[48];
		int64_t t;

		if (q) {
			memcpy(ts, line + tk, (size_t)(q - line - tk));
			ts[q - line - tk] = '\0';
		}
		if (q && units_parse_rfc3339(ts, &t, &te) == 0) {
			if ((f->since_ns && t < f->since_ns) || (f->until_ns && t >= f->until_ns))
				return LINE_NO;
		} else {
			sure = false;
		}
	}
	if (f->n_reasons && memmem(line, len, "\"reason\":\"", 10)) {
		size_t i;

		for (i = 0; i < f->n_reasons; i++) {
			char key[EVENT_REASON_MAX + 16];
			int n = snprintf(key, sizeof(key), "\"reason\":\"%s\"", f->reasons[i]);

			if (n > 0 && (size_t)n < sizeof(key) && memmem(line, len, key, (size_t)n))
				break;
		}
		if (i == f->n_reasons)
			return LINE_NO;
	} else if (f->n_reasons) {
		sure = false;
	}
	if (f->has_type && memmem(line, len, "\"type\":\"", 8)) {
		const char *want =
		    f->type == EVENT_WARNING ? "\"type\":\"Warning\"" : "\"type\":\"Normal\"";

		if (!memmem(line, len, want, strlen(want)))
			return LINE_NO;
	} else if (f->has_type) {
		sure = false;
	}
	return sure ? LINE_YES : LINE_MAYBE;
}

/* Reads the whole journal once, oldest first, and calls fn with each event f matches (the
 * event is released after the call unless fn takes it by zeroing it). No lock. */
static int journal_scan(const struct ctx *ctx, const struct event_filter *f,
                        void (*fn)(struct event *ev, void *arg), void *arg, uint64_t *skipped,
                        struct err *e)
{
	struct journal_tail *t = NULL;
	const char *line = NULL;
	size_t len = 0;
	int rc;

	if (journal_tail_open(ctx, JOURNAL_TAIL_OLDEST, JOURNAL_TAIL_SNAPSHOT, &t, e) < 0)
		return -1;
	while ((rc = journal_tail_next_line(t, &line, &len, e)) > 0) {
		struct event ev = {0};
		struct err pe = ERR_INIT;

		if (line_verdict(f, line, len) == LINE_NO)
			continue;
		if (event_parse(line, len, &ev, &pe) < 0) {
			journal_tail_skip(t);
			continue;
		}
		if (event_filter_match(f, &ev))
			fn(&ev, arg);
		event_release(&ev);
	}
	if (skipped)
		*skipped = journal_tail_skipped(t);
	journal_tail_free(t);
	return rc < 0 ? -1 : 0;
}

struct query_acc {
	struct event *v;
	size_t cnt, cap;
};

static void query_take(struct event *ev, void *arg)
{
	struct query_acc *a = arg;

	if (a->cnt == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->cnt++] = *ev;
	memset(ev, 0, sizeof(*ev));
}

/* The last `last` matching lines, kept raw: only they are parsed at the end, so `-n 20` over a
 * large journal parses little more than the lines a raw look cannot decide. */
static int query_last(const struct ctx *ctx, const struct event_filter *f, size_t last,
                      struct event **out, size_t *n, uint64_t *skipped, struct err *e)
{
	struct journal_tail *t = NULL;
	cleanup_free char **ring = xcalloc(last, sizeof(char *));
	struct event *v = NULL;
	size_t cnt = 0, head = 0, got = 0;
	const char *line = NULL;
	size_t len = 0;
	int rc;

	if (journal_tail_open(ctx, JOURNAL_TAIL_OLDEST, JOURNAL_TAIL_SNAPSHOT, &t, e) < 0)
		return -1;
	while ((rc = journal_tail_next_line(t, &line, &len, e)) > 0) {
		enum line_verdict lv = line_verdict(f, line, len);

		if (lv == LINE_NO)
			continue;
		if (lv == LINE_MAYBE) {
			struct event ev = {0};
			struct err pe = ERR_INIT;
			bool match;

			if (event_parse(line, len, &ev, &pe) < 0) {
				journal_tail_skip(t);
				continue;
			}
			match = event_filter_match(f, &ev);
			event_release(&ev);
			if (!match)
				continue;
		}
		if (cnt == last) {
			free(ring[head]);
			ring[head] = xstrndup(line, len);
			head = (head + 1) % last;
		} else {
			ring[cnt++] = xstrndup(line, len);
		}
	}
	v = xcalloc(cnt ? cnt : 1, sizeof(*v));
	for (size_t i = 0; i < cnt; i++) {
		char *l = ring[(head + i) % cnt];
		struct err pe = ERR_INIT;

		if (rc >= 0 && event_parse(l, strlen(l), &v[got], &pe) == 0)
			got++;
		else if (rc >= 0)
			journal_tail_skip(t);
		free(l);
	}
	if (skipped)
		*skipped = journal_tail_skipped(t);
	journal_tail_free(t);
	if (rc < 0) {
		events_free(v, got);
		return -1;
	}
	*out = v;
	*n = got;
	return 0;
}

int event_query(const struct ctx *ctx, const struct event_filter *f, size_t last,
                struct event **out, size_t *n, uint64_t *skipped, struct err *e)
{
	struct query_acc a = {0};

	if (last)
		return query_last(ctx, f, last, out, n, skipped, e);
	if (journal_scan(ctx, f, query_take, &a, skipped, e) < 0) {
		events_free(a.v, a.cnt);
		return -1;
	}
	*out = a.v;
	*n = a.cnt;
	return 0;
}

int event_stats_by_parse(const char *s, enum event_stats_by *out)
{
	static const char *const names[] = {
	    [STATS_BY_REASON] = "reason", [STATS_BY_TYPE] = "type", [STATS_BY_OBJECT] = "object"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum event_stats_by)i;
			return 0;
		}
	return -1;
}

int event_stats_init(struct event_stats *s, enum event_stats_by by, int64_t since_ns,
                     int64_t until_ns, int64_t bucket_ns, struct err *e)
{
	int64_t span = until_ns - since_ns;

	if (until_ns <= since_ns)
		return err_set(e, E_INVALID, "the window ends before it begins");
	if (bucket_ns <= 0)
		return err_set(e, E_INVALID, "the bucket must be longer than zero");
	if (span / bucket_ns >= EVENT_STATS_MAX_BUCKETS)
		return err_set(e, E_INVALID, "%lld buckets: at most %d, choose a longer bucket",
		               (long long)(span / bucket_ns) + 1, EVENT_STATS_MAX_BUCKETS);
	memset(s, 0, sizeof(*s));
	s->by = by;
	s->since_ns = since_ns;
	s->until_ns = until_ns;
	s->bucket_ns = bucket_ns;
	s->n_buckets = (size_t)((span + bucket_ns - 1) / bucket_ns);
	s->n_slots = 64;
	s->slots = xmalloc(s->n_slots * sizeof(*s->slots));
	memset(s->slots, 0xff, s->n_slots * sizeof(*s->slots));
	return 0;
}

static uint64_t key_hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

/* The row for key, created on first sight. */
static struct event_stats_row *stats_row(struct event_stats *s, const char *key)
{
	size_t mask = s->n_slots - 1, i = key_hash(key) & mask;

	while (s->slots[i] != (size_t)-1) {
		if (strcmp(s->rows[s->slots[i]].key, key) == 0)
			return &s->rows[s->slots[i]];
		i = (i + 1) & mask;
	}
	s->rows = xreallocarray(s->rows, s->n_rows + 1, sizeof(*s->rows));
	s->rows[s->n_rows] = (struct event_stats_row){
	    .key = xstrdup(key), .buckets = xcalloc(s->n_buckets, sizeof(uint64_t))};
	s->slots[i] = s->n_rows++;
	if (s->n_rows * 2 > s->n_slots) {
		/* Grow and rehash: keep the table at most half full. */
		free(s->slots);
		s->n_slots *= 2;
		s->slots = xmalloc(s->n_slots * sizeof(*s->slots));
		memset(s->slots, 0xff, s->n_slots * sizeof(*s->slots));
		mask = s->n_slots - 1;
		for (size_t r = 0; r < s->n_rows; r++) {
			size_t j = key_hash(s->rows[r].key) & mask;

			while (s->slots[j] != (size_t)-1)
				j = (j + 1) & mask;
			s->slots[j] = r;
		}
	}
	return &s->rows[s->n_rows - 1];
}

void event_stats_add(struct event_stats *s, const struct event *ev)
{
	int64_t span = s->until_ns - s->since_ns;
	cleanup_free char *label = NULL;
	struct event_stats_row *row;
	const char *key;

	if (ev->time_ns >= s->until_ns || ev->time_ns < s->since_ns - span)
		return;
	switch (s->by) {
	case STATS_BY_TYPE:
		key = event_type_name(ev->type);
		break;
	case STATS_BY_OBJECT:
		label = event_object_label(ev);
		key = label;
		break;
	case STATS_BY_REASON:
	default:
		key = ev->reason ? ev->reason : "";
		break;
	}
	row = stats_row(s, key);
	if (ev->time_ns < s->since_ns) {
		row->previous++;
		s->total_previous++;
		return;
	}
	row->count++;
	row->buckets[(ev->time_ns - s->since_ns) / s->bucket_ns]++;
	s->total++;
}

static int row_cmp(const void *a, const void *b)
{
	const struct event_stats_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->previous != y->previous)
		return x->previous > y->previous ? -1 : 1;
	return strcmp(x->key, y->key);
}

void event_stats_finish(struct event_stats *s)
{
	if (s->n_rows)
		qsort(s->rows, s->n_rows, sizeof(*s->rows), row_cmp);
	/* The index no longer matches the order; the rows are final now. */
	free(s->slots);
	s->slots = NULL;
	s->n_slots = 0;
}

void event_stats_release(struct event_stats *s)
{
	for (size_t i = 0; i < s->n_rows; i++) {
		free(s->rows[i].key);
		free(s->rows[i].buckets);
	}
	free(s->rows);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static void stats_take(struct event *ev, void *arg)
{
	event_stats_add(arg, ev);
}

int event_stats_collect(const struct ctx *ctx, const struct event_filter *f,
                        struct event_stats *s, uint64_t *skipped, struct err *e)
{
	struct event_filter w = *f;

	w.since_ns = s->since_ns - (s->until_ns - s->since_ns);
	w.until_ns = s->until_ns;
	if (journal_scan(ctx, &w, stats_take, s, skipped, e) < 0)
		return -1;
	event_stats_finish(s);
	return 0;
}

void event_stats_change(uint64_t count, uint64_t previous, char *buf, size_t n)
{
	if (previous == 0 || count == previous) {
		snprintf(buf, n, "%s", count != previous ? "new" : "0%");
		return;
	}
	if (count >= previous)
		snprintf(buf, n, "+%llu%%",
		         (unsigned long long)((count - previous) * 100 / previous));
	else
		snprintf(buf, n, "-%llu%%",
		         (unsigned long long)((previous - count) * 100 / previous));
}
