/* common/node/diag_kmsg.c - the kmsg check: the kernel log since boot, read from <dev>/kmsg,
 * against node-problem-detector-like rules (OOM kills, hung tasks, soft lockups, file system and
 * I/O errors, read-only remounts, conntrack table full) and extra rules from the config
 * (DESIGN.md lesson 5, "diagnose"; issue 8) */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/node/diag.h"
#include "common/util/buf.h"
#include "common/util/host.h"
#include "common/util/mem.h"

#define KMSG_MAX_BYTES (32 << 20) /* bound on what is read */

const struct diag_rule diag_kmsg_rules[] = {
    /* The first match of the worst severity is the headline, so the most telling come first. */
    {"Killed process [0-9]+", "OOMKilling", DIAG_WARN},
    {"blocked for more than [0-9]+ seconds", "TaskHung", DIAG_WARN},
    {"soft lockup", "SoftLockup", DIAG_WARN},
    {"nf_conntrack: (nf_conntrack: )?table full", "ConntrackFull", DIAG_WARN},
    {"Remounting filesystem read-only", "ReadonlyFilesystem", DIAG_FAIL},
    {"BUG: unable to handle|Oops: [0-9]|general protection fault", "KernelOops", DIAG_FAIL},
    {"blk_update_request: I/O error|I/O error, dev |Buffer I/O error on dev", "IOError",
     DIAG_FAIL},
    {"EXT4-fs error", "Ext4Error", DIAG_FAIL},
    {"XFS \\([^)]*\\):.*([Ee]rror|Corruption)", "XFSError", DIAG_FAIL},
    {0},
};

static const struct {
	const char *reason, *remedy;
} remedies[] = {
    {"OOMKilling", "raise the killed containers' memory limits or lower their use"},
    {"TaskHung", "see the dstate check and the stack in the kernel log: usually a saturated "
                 "disk or a hung unmount"},
    {"SoftLockup", "a CPU was stuck in the kernel: update the kernel and check the hypervisor"},
    {"KernelOops", "the kernel crashed in a driver or subsystem: reboot the node and update "
                   "the kernel"},
    {"Ext4Error", "the file system is damaged: drain the node and run fsck"},
    {"XFSError", "the file system is damaged: drain the node and run xfs_repair"},
    {"IOError", "the disk reports I/O errors: check it (smartctl) and replace it"},
    {"ReadonlyFilesystem", "a file system went read-only after errors: drain the node, repair "
                           "the file system and remount"},
    {"ConntrackFull", "raise net.netfilter.nf_conntrack_max or reduce short-lived connections"},
};

struct hit {
	const struct diag_rule *rule;
	regex_t re;
	bool ok;
	uint64_t count;
	uint64_t last_usec;
	char last[256];
};

static void match(struct hit *h, size_t n, const struct kmsg_record *rec)
{
	char msg[1024];
	size_t len = rec->msg_len < sizeof(msg) - 1 ? rec->msg_len : sizeof(msg) - 1;

	memcpy(msg, rec->msg, len);
	msg[len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (h[i].ok && regexec(&h[i].re, msg, 0, NULL, 0) == 0) {
			h[i].count++;
			h[i].last_usec = rec->usec;
			size_t ll = len < sizeof(h[i].last) - 1 ? len : sizeof(h[i].last) - 1;

			memcpy(h[i].last, msg, ll);
			h[i].last[ll] = '\0';
		}
}

/* Reads records until the end of the log (EAGAIN from /dev/kmsg, EOF from a fixture file).
 * /dev/kmsg returns one record per read; a file returns chunks: both are split on newlines, and
 * continuation lines (" KEY=value") are skipped. */
static int read_log(const struct diag_env *env, struct hit *h, size_t n, uint64_t *records,
                    struct err *e)
{
	cleanup_free char *path = host_path(env->ctx, HOST_DEV, "kmsg");
	cleanup_close int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cleanup_buf struct buf pend = BUF_INIT;
	char chunk[16384];
	size_t total = 0;

	if (fd < 0)
		return err_sys(e, "%s", path);
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		char *line, *nl;

		if (got < 0) {
			if (errno == EINTR || errno == EPIPE) /* EPIPE: records overwritten */
				continue;
			if (errno == EAGAIN)
				break;
			return err_sys(e, "%s", path);
		}
		if (got == 0)
			break;
		total += (size_t)got;
		buf_add(&pend, chunk, (size_t)got);
		line = pend.data;
		while ((nl = memchr(line, '\n', pend.len - (size_t)(line - pend.data)))) {
			struct kmsg_record rec;
			struct err pe = ERR_INIT;

			if (line[0] != ' ' &&
			    kmsg_record_parse(line, (size_t)(nl - line), &rec, &pe) == 0) {
				(*records)++;
				match(h, n, &rec);
			}
			line = nl + 1;
		}
		if (line > pend.data) {
			size_t rest = pend.len - (size_t)(line - pend.data);

			memmove(pend.data, line, rest);
			pend.len = rest;
			pend.data[rest] = '\0';
		}
		if (total > KMSG_MAX_BYTES)
			break;
	}
	return 0;
}

static const char *remedy_for(const char *reason)
{
	for (size_t i = 0; i < ARRAY_SIZE(remedies); i++)
		if (strcmp(remedies[i].reason, reason) == 0)
			return remedies[i].remedy;
	return "read the kernel log (dmesg) around the matched lines";
}

int diag_check_kmsg(const struct diag_env *env, struct diag_result *r)
{
	size_t nb = ARRAY_SIZE(diag_kmsg_rules) - 1, n = nb + env->n_rules;
	struct hit *h = xcalloc(n ? n : 1, sizeof(*h));
	struct err e = ERR_INIT;
	uint64_t records = 0;

	for (size_t i = 0; i < n; i++) {
		h[i].rule = i < nb ? &diag_kmsg_rules[i] : &env->rules[i - nb];
		h[i].ok = regcomp(&h[i].re, h[i].rule->pattern, REG_EXTENDED | REG_NOSUB) == 0;
		if (!h[i].ok)
			diag_text(r, "bad_rule", "%s: not an extended regular expression",
			          h[i].rule->pattern);
	}
	if (read_log(env, h, n, &records, &e) < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, "run diagnose as root so it can read /dev/kmsg",
		         "cannot read the kernel log: %s", e.msg);
	} else {
		diag_num(r, "records", (double)records);
		for (size_t i = 0; i < n; i++) {
			char key[96];

			if (!h[i].count)
				continue;
			snprintf(key, sizeof(key), "%s_count", h[i].rule->reason);
			diag_num(r, key, (double)h[i].count);
			snprintf(key, sizeof(key), "%s_last", h[i].rule->reason);
			diag_text(r, key, "[%llu.%06llu] %s",
			          (unsigned long long)(h[i].last_usec / 1000000),
			          (unsigned long long)(h[i].last_usec % 1000000), h[i].last);
			diag_set(r, h[i].rule->severity, h[i].rule->reason,
			         remedy_for(h[i].rule->reason), "%s: %llu since boot, last: %s",
			         h[i].rule->reason, (unsigned long long)h[i].count, h[i].last);
		}
		if (!r->summary)
			diag_set(r, DIAG_OK, NULL, NULL, "no rule matched in %llu kernel log records",
			         (unsigned long long)records);
	}
	for (size_t i = 0; i < n; i++)
		if (h[i].ok)
			regfree(&h[i].re);
	free(h);
	return 0;
}
