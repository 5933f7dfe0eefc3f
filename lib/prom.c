/* prom.c - the Prometheus text exposition format 0.0.4 (see prom.h). */
#include "prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
	[PROM_COUNTER] = "counter",
	[PROM_GAUGE] = "gauge",
	[PROM_HISTOGRAM] = "histogram",
};

/* Appends s with backslash and newline escaped, and the double quote too
 * when quote. */
static int
escape(struct lc_buf *b, const char *s, int quote)
{
	int rc = LC_BUF_OK;

	for (; rc == LC_BUF_OK && *s; s++) {
		size_t run = strcspn(s, quote ? "\\\"\n" : "\\\n");
		if (run > 0) {
			rc = buf_append(b, s, run);
			s += run;
			if (*s == '\0' || rc != LC_BUF_OK)
				break;
		}
		rc = buf_append_str(b, *s == '\\' ? "\\\\" : *s == '"' ?
		    "\\\"" : "\\n");
	}
	return rc;
}

int
prom_escape(struct lc_buf *b, const char *value)
{
	return escape(b, value, 1);
}

int
prom_head(struct lc_buf *b, const struct prom_family *f)
{
	int rc;

	if ((rc = buf_append_str(b, "# HELP ")) != LC_BUF_OK ||
	    (rc = buf_append_str(b, f->name)) != LC_BUF_OK ||
	    (rc = buf_append_str(b, " ")) != LC_BUF_OK ||
	    (rc = escape(b, f->help, 0)) != LC_BUF_OK ||
	    (rc = buf_append_str(b, "\n# TYPE ")) != LC_BUF_OK ||
	    (rc = buf_append_str(b, f->name)) != LC_BUF_OK ||
	    (rc = buf_append_str(b, " ")) != LC_BUF_OK ||
	    (rc = buf_append_str(b, type_names[f->type])) != LC_BUF_OK)
		return rc;
	return buf_append_str(b, "\n");
}

/* Writes v as Prometheus reads it: an integer when it is one. */
static void
format_value(double v, char out[64])
{
	if (isnan(v))
		snprintf(out, 64, "NaN");
	else if (isinf(v))
		snprintf(out, 64, v > 0 ? "+Inf" : "-Inf");
	else if (v > -9e15 && v < 9e15 && (double)(long long)v == v)
		snprintf(out, 64, "%lld", (long long)v);
	else
		snprintf(out, 64, "%.9g", v);
}

int
prom_sample(struct lc_buf *b, const char *name, const char *label,
    const char *label_value, double v)
{
	const char *const pair[2] = { label, label_value };

	return prom_sample_labels(b, name, pair, label != NULL, v);
}

int
prom_sample_labels(struct lc_buf *b, const char *name,
    const char *const *labels, size_t n, double v)
{
	char num[64];
	int rc;

	format_value(v, num);
	if ((rc = buf_append_str(b, name)) != LC_BUF_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *value = labels[2 * i + 1];
		if ((rc = buf_append_str(b, i == 0 ? "{" : ",")) != LC_BUF_OK ||
		    (rc = buf_append_str(b, labels[2 * i])) != LC_BUF_OK ||
		    (rc = buf_append_str(b, "=\"")) != LC_BUF_OK ||
		    (rc = escape(b, value != NULL ? value : "", 1)) !=
		    LC_BUF_OK ||
		    (rc = buf_append_str(b, "\"")) != LC_BUF_OK)
			return rc;
	}
	if (n > 0 && (rc = buf_append_str(b, "}")) != LC_BUF_OK)
		return rc;
	if ((rc = buf_append_str(b, " ")) != LC_BUF_OK ||
	    (rc = buf_append_str(b, num)) != LC_BUF_OK)
		return rc;
	return buf_append_str(b, "\n");
}

void
prom_hist_observe(struct prom_hist *h, double v)
{
	h->count++;
	h->sum += v;
	for (size_t i = 0; i < h->n && i < PROM_HIST_MAX; i++)
		if (v <= h->bounds[i]) {
			h->counts[i]++;
			return;
		}
}

int
prom_hist_write(struct lc_buf *b, const char *name,
    const struct prom_hist *h)
{
	char metric[128], le[64];
	unsigned long long cum = 0;
	int rc = LC_BUF_OK;

	if (snprintf(metric, sizeof(metric), "%s_bucket", name) >=
	    (int)sizeof(metric))
		return LC_BUF_TOO_BIG;
	for (size_t i = 0; i < h->n && i < PROM_HIST_MAX; i++) {
		cum += h->counts[i];
		format_value(h->bounds[i], le);
		if ((rc = prom_sample(b, metric, "le", le, (double)cum)) !=
		    LC_BUF_OK)
			return rc;
	}
	if ((rc = prom_sample(b, metric, "le", "+Inf", (double)h->count)) !=
	    LC_BUF_OK)
		return rc;
	snprintf(metric, sizeof(metric), "%s_sum", name);
	if ((rc = prom_sample(b, metric, NULL, NULL, h->sum)) != LC_BUF_OK)
		return rc;
	snprintf(metric, sizeof(metric), "%s_count", name);
	return prom_sample(b, metric, NULL, NULL, (double)h->count);
}

int
prom_line_of(const char *line, size_t len, const struct prom_family *f)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	size_t n = strlen(f->name), name_len = 0;

	while (name_len < len && line[name_len] != '{' &&
	    line[name_len] != ' ')
		name_len++;
	if (name_len == len || name_len < n || strncmp(line, f->name, n) != 0)
		return 0;
	if (name_len == n)
		return line[0] != '#';
	if (f->type != PROM_HISTOGRAM)
		return 0;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (name_len - n == strlen(suffixes[i]) &&
		    strncmp(line + n, suffixes[i], name_len - n) == 0)
			return 1;
	return 0;
}
