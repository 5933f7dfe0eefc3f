/* test-prom.c - the Prometheus text writer (lib/prom.c): label values and
 * help escaped as the 0.0.4 format says (\\, \" and \n), numbers, the
 * histogram's cumulative buckets, and which family a line belongs to. */
#include <stdlib.h>

#include "prom.h"
#include "unit.h"

int
main(void)
{
	struct lc_buf b;
	struct prom_family c = { "lc_x_total", PROM_COUNTER, "Help: a \\ b\nc" };
	struct prom_family h = { "lc_h_seconds", PROM_HISTOGRAM, "H" };
	static const double bounds[] = { 0.5, 1, 2.5 };
	struct prom_hist hist = { 0 };

	buf_init(&b, 4096);
	CHECK(prom_head(&b, &c) == LC_BUF_OK, "head");
	CHECK_STR(buf_str(&b), "# HELP lc_x_total Help: a \\\\ b\\nc\n"
	    "# TYPE lc_x_total counter\n", "help escapes \\ and newline");
	buf_reset(&b);
	CHECK(prom_sample(&b, "lc_x_total", "code", "a\\b\"c\nd", 3) ==
	    LC_BUF_OK, "sample");
	CHECK_STR(buf_str(&b), "lc_x_total{code=\"a\\\\b\\\"c\\nd\"} 3\n",
	    "label value escapes \\, \" and newline");
	buf_reset(&b);
	prom_sample(&b, "lc_g", NULL, NULL, 0.25);
	prom_sample(&b, "lc_g", NULL, NULL, 12345678901.0);
	prom_sample(&b, "lc_g", "l", "", -2);
	CHECK_STR(buf_str(&b), "lc_g 0.25\nlc_g 12345678901\nlc_g{l=\"\"} -2\n",
	    "numbers: integers whole, fractions as floats, empty label");
	buf_reset(&b);
	{
		const char *const l3[] = { "user", "al\"ice", "model", "m\n1",
		    "kind", NULL };
		CHECK(prom_sample_labels(&b, "lc_u_total", l3, 3, 7) ==
		    LC_BUF_OK, "three labels");
		CHECK_STR(buf_str(&b), "lc_u_total{user=\"al\\\"ice\","
		    "model=\"m\\n1\",kind=\"\"} 7\n",
		    "three labels: each escaped, a NULL value empty");
		buf_reset(&b);
		CHECK(prom_sample_labels(&b, "lc_n", l3, 0, 1) == LC_BUF_OK &&
		    strcmp(buf_str(&b), "lc_n 1\n") == 0, "no label: no braces");
	}
	buf_reset(&b);
	CHECK(prom_escape(&b, "plain") == LC_BUF_OK &&
	    strcmp(buf_str(&b), "plain") == 0, "plain text unchanged");

	hist.bounds = bounds;
	hist.n = 3;
	prom_hist_observe(&hist, 0.2);
	prom_hist_observe(&hist, 0.5);
	prom_hist_observe(&hist, 2);
	prom_hist_observe(&hist, 99);
	buf_reset(&b);
	CHECK(prom_hist_write(&b, "lc_h_seconds", &hist) == LC_BUF_OK,
	    "histogram written");
	CHECK_STR(buf_str(&b),
	    "lc_h_seconds_bucket{le=\"0.5\"} 2\n"
	    "lc_h_seconds_bucket{le=\"1\"} 2\n"
	    "lc_h_seconds_bucket{le=\"2.5\"} 3\n"
	    "lc_h_seconds_bucket{le=\"+Inf\"} 4\n"
	    "lc_h_seconds_sum 101.7\n"
	    "lc_h_seconds_count 4\n", "histogram: cumulative, +Inf, sum, count");

	CHECK(prom_line_of("lc_x_total{code=\"a\"} 1", 22, &c) == 1,
	    "a labelled sample is its family's");
	CHECK(prom_line_of("lc_x_total 1", 12, &c) == 1, "a bare sample too");
	CHECK(prom_line_of("lc_x_total_more 1", 17, &c) == 0,
	    "a longer name is not");
	CHECK(prom_line_of("lc_x_total_sum 1", 16, &c) == 0,
	    "_sum belongs only to a histogram");
	CHECK(prom_line_of("lc_h_seconds_bucket{le=\"1\"} 2", 29, &h) == 1 &&
	    prom_line_of("lc_h_seconds_count 4", 20, &h) == 1,
	    "histogram lines are its family's");
	CHECK(prom_line_of("# HELP lc_x_total x", 19, &c) == 0,
	    "comments are nobody's");
	CHECK(prom_line_of("lc_x_total", 10, &c) == 0, "a name alone is not a sample");

	buf_free(&b);
	buf_init(&b, 8);
	CHECK(prom_sample(&b, "lc_long_name", NULL, NULL, 1) == LC_BUF_TOO_BIG,
	    "past the buffer's maximum: an error");
	buf_free(&b);
	UNIT_EXIT();
}
