/* common/node/prom.h - Prometheus text exposition format 0.0.4 written into a buffer, for
 * `metrics` and `diagnose --format prometheus` (DESIGN.md "diagnose": text for node_exporter's
 * textfile collector; issue 8). Nothing here prints; the applets write the buffer. */
#ifndef CTRBOX_NODE_PROM_H
#define CTRBOX_NODE_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/node/diag.h"
#include "common/util/buf.h"

/* "# HELP name help\n# TYPE name type\n"; type is counter, gauge or histogram. */
void prom_family(struct buf *b, const char *name, const char *type, const char *help);
/* One sample: name{labels} value, where labels are n pairs (key, value) and values are escaped
 * (backslash, double quote, newline). Integral values print without a fraction. */
void prom_sample(struct buf *b, const char *name, double value, size_t n, const char *const *kv);
/* A histogram without labels: the family, name_bucket{le} for the n cumulative buckets bounded
 * by le[] and le="+Inf" (count), name_sum and name_count. */
void prom_histogram(struct buf *b, const char *name, const char *help, const double *le,
                    const uint64_t *buckets, size_t n, uint64_t count, double sum);
/* The label value escaped as the format wants; caller frees. */
char *prom_escape(const char *v) __attribute__((malloc, returns_nonnull));
/* A metric name from free text: [a-zA-Z_:][a-zA-Z0-9_:]*, anything else as '_'; caller frees. */
char *prom_name(const char *s) __attribute__((malloc, returns_nonnull));

/* ctrbox_check_status{check} (0 OK, 1 WARN, 2 FAIL, 3 UNKNOWN) and the numeric evidence as
 * ctrbox_check_evidence{check,key}, for n checks named names[i] with results r[i]. */
void prom_checks(struct buf *b, const char *const *names, const struct diag_result *r, size_t n);

#endif
