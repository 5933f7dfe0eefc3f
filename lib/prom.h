/* prom.h - the Prometheus text exposition format (0.0.4): a family's HELP
 * and TYPE lines, samples with labels (their values escaped),
 * histograms with fixed buckets, all appended to a struct lc_buf; and which
 * family a sample line belongs to. No I/O, no allocation beyond the buffer.
 * lightchat's metric names are in metrics.h. */
#ifndef LC_PROM_H
#define LC_PROM_H

#include <stddef.h>

#include "buf.h"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_family {
	const char *name;             /* lightchat_... */
	enum prom_type type;
	const char *help;             /* one line of prose */
};

/* Appends "# HELP name help" (help escaped: \\ and \n) and "# TYPE name
 * type". Returns LC_BUF_OK or the buffer's error. */
int prom_head(struct lc_buf *b, const struct prom_family *f);

/* Appends the sample "name value" or, when label is not NULL,
 * "name{label="value"} v", label_value escaped (\\, \" and \n). v is
 * written as an integer when it is one, else with 9 significant digits.
 * Returns LC_BUF_OK or the buffer's error. */
int prom_sample(struct lc_buf *b, const char *name, const char *label,
    const char *label_value, double v);

/* Appends the sample "name{l1="v1",l2="v2",...} v" with the n label
 * pairs of labels (names then values, 2 * n strings; a NULL value is "";
 * n 0: no braces), values escaped, v as prom_sample's. Returns LC_BUF_OK
 * or the buffer's error. */
int prom_sample_labels(struct lc_buf *b, const char *name,
    const char *const *labels, size_t n, double v);

/* Appends value escaped as a label value (\\, \" and \n; no quotes).
 * Returns LC_BUF_OK or the buffer's error. */
int prom_escape(struct lc_buf *b, const char *value);

/* A histogram with fixed upper bounds (ascending, at most PROM_HIST_MAX;
 * +Inf is implied). Zero it, then set bounds and n. */
#define PROM_HIST_MAX 16
struct prom_hist {
	const double *bounds;
	size_t n;
	unsigned long long counts[PROM_HIST_MAX]; /* per bucket, not cumulative */
	unsigned long long count;     /* every observation (the +Inf bucket) */
	double sum;
};

/* Counts one observation of v. */
void prom_hist_observe(struct prom_hist *h, double v);

/* Appends name_bucket{le="..."} (cumulative, +Inf last), name_sum and
 * name_count. Returns LC_BUF_OK or the buffer's error. */
int prom_hist_write(struct lc_buf *b, const char *name,
    const struct prom_hist *h);

/* Returns 1 if the sample line (len bytes, no newline) belongs to family f:
 * its metric name is f's, or for a histogram f's with _bucket, _sum or
 * _count; 0 otherwise (comments included). */
int prom_line_of(const char *line, size_t len, const struct prom_family *f);

#endif
