/* common/node/metrics.h - the node's Prometheus metrics for `metrics` (DESIGN.md "diagnose":
 * Prometheus text; issue 8): per-container cgroup figures under cAdvisor's names, the relist
 * histogram, pulls and event counts from the journal. */
#ifndef CTRBOX_NODE_METRICS_H
#define CTRBOX_NODE_METRICS_H

#include "common/util/buf.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

/* Appends to b: container_cpu_usage_seconds_total, container_memory_usage_bytes,
 * container_memory_working_set_bytes, container_oom_events_total, container_start_time_seconds
 * and container_last_seen for each running container (cgroup v1 or v2 files under
 * ctx->path.cgroup); ctrbox_relist_duration_seconds and ctrbox_relist_interval_seconds
 * (histograms) and the last completion when relist recorded them; ctrbox_pulls_total, ctrbox_pull_bytes_total and
 * ctrbox_pull_seconds_total from the journal's Pulled events; ctrbox_events_total{reason,type}.
 * Reads without locks; a container whose cgroup files are missing is skipped. */
int metrics_collect(const struct ctx *ctx, struct buf *b, struct err *e);

/* "12.3MB" as units_format_size writes it (decimal units) back into bytes; -1 if malformed. */
double metrics_parse_size(const char *s);

#endif
