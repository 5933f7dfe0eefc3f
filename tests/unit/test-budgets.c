/* test-budgets.c - lib/budget.c: the local day and month (across both DST
 * changes of Europe/Berlin, month and year ends), the verdict's order,
 * the overshoot rule and percent, the sentence, and tables of good and bad
 * limits, amounts and formats (overflow included). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "unit.h"

/* The moment of a local time (TZ as set). */
static time_t
at(int y, int mon, int d, int h, int min)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = min;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void
test_periods(void)
{
	struct budget_periods p;
	char iso[BUDGET_ISO_MAX], d[BUDGET_DATE_LEN + 1];

	set_tz("Europe/Berlin");
	/* 2026-03-29: clocks go from 02:00 to 03:00, a 23-hour day. */
	CHECK(budget_periods(at(2026, 3, 29, 12, 0), &p) == 0, "periods: DST "
	    "spring day");
	CHECK_STR(p.day, "2026-03-29", "periods: spring: its date");
	CHECK_STR(p.month_first, "2026-03-01", "periods: spring: month's first");
	CHECK(p.end[BUDGET_DAY] - p.start[BUDGET_DAY] == 23 * 3600,
	    "periods: the spring change's day is 23 hours");
	CHECK(budget_iso_time(p.start[BUDGET_DAY], iso) == 0, "iso: start");
	CHECK_STR(iso, "2026-03-29T00:00:00+01:00", "iso: spring day starts "
	    "in winter time");
	CHECK(budget_iso_time(p.end[BUDGET_DAY], iso) == 0, "iso: end");
	CHECK_STR(iso, "2026-03-30T00:00:00+02:00", "iso: and ends in summer "
	    "time");
	CHECK(budget_iso_time(p.end[BUDGET_MONTH], iso) == 0 &&
	    strcmp(iso, "2026-04-01T00:00:00+02:00") == 0,
	    "periods: March ends at April's first midnight");
	CHECK(p.end[BUDGET_MONTH] - p.start[BUDGET_MONTH] ==
	    31 * 86400 - 3600, "periods: March 2026 lacks an hour");
	/* 2026-10-25: 03:00 back to 02:00, a 25-hour day. */
	CHECK(budget_periods(at(2026, 10, 25, 1, 30), &p) == 0 &&
	    p.end[BUDGET_DAY] - p.start[BUDGET_DAY] == 25 * 3600,
	    "periods: the autumn change's day is 25 hours");
	CHECK(budget_iso_time(p.end[BUDGET_DAY], iso) == 0 &&
	    strcmp(iso, "2026-10-26T00:00:00+01:00") == 0,
	    "iso: the autumn day ends in winter time");
	/* The last second of a day is in it; the next is the next day. */
	CHECK(budget_periods(at(2026, 12, 2, 23, 59) + 59, &p) == 0 &&
	    strcmp(p.day, "2026-12-02") == 0, "periods: 23:59:59 is still the "
	    "day");
	CHECK(budget_periods(at(2026, 12, 3, 0, 0), &p) == 0 &&
	    strcmp(p.day, "2026-12-03") == 0 &&
	    p.start[BUDGET_DAY] == at(2026, 12, 3, 0, 0),
	    "periods: midnight starts the next");
	/* Year end, leap February. */
	CHECK(budget_periods(at(2026, 12, 31, 18, 0), &p) == 0 &&
	    p.end[BUDGET_MONTH] == at(2027, 1, 1, 0, 0) &&
	    p.end[BUDGET_DAY] == at(2027, 1, 1, 0, 0) &&
	    strcmp(p.month_first, "2026-12-01") == 0,
	    "periods: December's day and month end at new year");
	CHECK(budget_periods(at(2028, 2, 29, 8, 0), &p) == 0 &&
	    p.end[BUDGET_DAY] == at(2028, 3, 1, 0, 0) &&
	    p.end[BUDGET_MONTH] == at(2028, 3, 1, 0, 0),
	    "periods: a leap day ends February");
	CHECK(budget_date(at(2026, 7, 4, 23, 30), d) == 0 &&
	    strcmp(d, "2026-07-04") == 0, "date: local");
	/* Another zone: the same moment is another day. */
	time_t t = at(2026, 7, 4, 23, 30);
	set_tz("UTC");
	CHECK(budget_date(t, d) == 0 && strcmp(d, "2026-07-04") == 0,
	    "date: 21:30 UTC is the same day");
	set_tz("Asia/Tokyo");
	CHECK(budget_date(t, d) == 0 && strcmp(d, "2026-07-05") == 0,
	    "date: in Tokyo it is already the next day");
	CHECK(budget_iso_time(t, iso) == 0 &&
	    strcmp(iso, "2026-07-05T06:30:00+09:00") == 0, "iso: Tokyo's offset");
	set_tz("America/St_Johns");
	CHECK(budget_iso_time(t, iso) == 0 &&
	    strcmp(iso, "2026-07-04T19:00:00-02:30") == 0,
	    "iso: a negative half-hour offset");
	set_tz("Europe/Berlin");
}

static void
test_date_ok(void)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{ "2026-12-02", 1 }, { "2024-02-29", 1 }, { "2000-02-29", 1 },
		{ "2026-02-29", 0 }, { "1900-02-29", 0 }, { "2026-13-01", 0 },
		{ "2026-00-10", 0 }, { "2026-04-31", 0 }, { "2026-4-01", 0 },
		{ "2026-04-01x", 0 }, { "2026/04/01", 0 }, { "", 0 },
		{ "0000-01-01", 0 }, { "2026-01-00", 0 }, { "2026-01-3a", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "date_ok: '%s' %s", cases[i].s,
		    cases[i].ok ? "is a date" : "is not");
		CHECK(budget_date_ok(cases[i].s) == cases[i].ok, name);
	}
	CHECK(budget_date_ok(NULL) == 0, "date_ok: NULL is not");
}

static void
limits_none(struct budget_limits *l, long long v)
{
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			l->v[p][u] = v;
}

static void
test_effective(void)
{
	struct budget_limits def, own, out;

	limits_none(&def, BUDGET_NONE);
	def.v[BUDGET_DAY][BUDGET_TOKENS] = 10000;
	def.v[BUDGET_MONTH][BUDGET_COST] = 5 * BUDGET_MICROS;
	limits_none(&own, BUDGET_DEFAULT);
	own.v[BUDGET_DAY][BUDGET_TOKENS] = BUDGET_NONE;
	own.v[BUDGET_MONTH][BUDGET_TOKENS] = 2000000;
	budget_effective(&def, &own, &out);
	CHECK(out.v[BUDGET_DAY][BUDGET_TOKENS] == BUDGET_NONE,
	    "effective: an own 'none' lifts the default");
	CHECK(out.v[BUDGET_MONTH][BUDGET_TOKENS] == 2000000,
	    "effective: an own value replaces it");
	CHECK(out.v[BUDGET_MONTH][BUDGET_COST] == 5 * BUDGET_MICROS &&
	    out.v[BUDGET_DAY][BUDGET_COST] == BUDGET_NONE,
	    "effective: 'default' takes the default's");
	budget_effective(&def, NULL, &out);
	CHECK(memcmp(&out, &def, sizeof(out)) == 0,
	    "effective: no own limits: the defaults");
}

static void
test_check(void)
{
	struct budget_limits lim, site;
	struct budget_used used, site_used;
	struct budget_periods p;
	struct budget_verdict v;

	budget_periods(at(2026, 12, 2, 15, 0), &p);
	limits_none(&lim, BUDGET_NONE);
	limits_none(&site, BUDGET_NONE);
	memset(&used, 0, sizeof(used));
	memset(&site_used, 0, sizeof(site_used));
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(!v.exceeded && v.percent == 0, "check: no limits: admitted, 0 %");
	budget_check(NULL, NULL, NULL, NULL, &p, &v);
	CHECK(!v.exceeded && v.percent == 0, "check: NULL limits: none");

	lim.v[BUDGET_DAY][BUDGET_TOKENS] = 10000;
	used.v[BUDGET_DAY][BUDGET_TOKENS] = 9999;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(!v.exceeded && v.percent == 99,
	    "check: one token under the limit: admitted (99 %)");
	used.v[BUDGET_DAY][BUDGET_TOKENS] = 10000;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && !v.site && v.period == BUDGET_DAY &&
	    v.unit == BUDGET_TOKENS && v.limit == 10000 && v.used == 10000 &&
	    v.resets_at == p.end[BUDGET_DAY] && v.percent == 100,
	    "check: at the limit: refused, resets at the day's end");
	/* Overshoot: a reply admitted at 9999 went on to 12500. */
	used.v[BUDGET_DAY][BUDGET_TOKENS] = 12500;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.used == 12500 && v.percent == 125,
	    "check: past the limit (overshoot): used and percent say so");

	/* Order: day tokens before day money before month ones. */
	lim.v[BUDGET_DAY][BUDGET_COST] = 1 * BUDGET_MICROS;
	used.v[BUDGET_DAY][BUDGET_COST] = 2 * BUDGET_MICROS;
	lim.v[BUDGET_MONTH][BUDGET_TOKENS] = 20000;
	used.v[BUDGET_MONTH][BUDGET_TOKENS] = 30000;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.period == BUDGET_DAY && v.unit == BUDGET_TOKENS &&
	    v.percent == 200, "check: the day's tokens decide first; percent is "
	    "the highest (200 % of the money)");
	used.v[BUDGET_DAY][BUDGET_TOKENS] = 0;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.period == BUDGET_DAY && v.unit == BUDGET_COST,
	    "check: then the day's money");
	used.v[BUDGET_DAY][BUDGET_COST] = 0;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.period == BUDGET_MONTH &&
	    v.unit == BUDGET_TOKENS && v.resets_at == p.end[BUDGET_MONTH],
	    "check: then the month's tokens, resetting at the month's end");
	used.v[BUDGET_MONTH][BUDGET_TOKENS] = 0;
	lim.v[BUDGET_MONTH][BUDGET_COST] = 5 * BUDGET_MICROS;
	used.v[BUDGET_MONTH][BUDGET_COST] = 5 * BUDGET_MICROS;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.period == BUDGET_MONTH && v.unit == BUDGET_COST,
	    "check: then the month's money");
	used.v[BUDGET_MONTH][BUDGET_COST] = 4 * BUDGET_MICROS;

	/* The site's: after the user's, its day limits not used. */
	site.v[BUDGET_DAY][BUDGET_TOKENS] = 1;
	site_used.v[BUDGET_DAY][BUDGET_TOKENS] = 100;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(!v.exceeded && v.percent == 80,
	    "check: the site's day limits are not used (80 % of the month's "
	    "money)");
	site.v[BUDGET_MONTH][BUDGET_TOKENS] = 1000000;
	site_used.v[BUDGET_MONTH][BUDGET_TOKENS] = 1000001;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.site && v.period == BUDGET_MONTH &&
	    v.unit == BUDGET_TOKENS && v.limit == 1000000,
	    "check: the site's month tokens");
	site_used.v[BUDGET_MONTH][BUDGET_TOKENS] = 0;
	site.v[BUDGET_MONTH][BUDGET_COST] = 100 * BUDGET_MICROS;
	site_used.v[BUDGET_MONTH][BUDGET_COST] = 100 * BUDGET_MICROS;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && v.site && v.unit == BUDGET_COST,
	    "check: the site's month money");
	used.v[BUDGET_DAY][BUDGET_TOKENS] = 10000;
	budget_check(&lim, &used, &site, &site_used, &p, &v);
	CHECK(v.exceeded && !v.site, "check: the user's own limit before the "
	    "site's");
	/* Percent against huge figures does not overflow. */
	limits_none(&lim, BUDGET_NONE);
	lim.v[BUDGET_MONTH][BUDGET_TOKENS] = 1;
	used.v[BUDGET_MONTH][BUDGET_TOKENS] = 9000000000000000000LL;
	budget_check(&lim, &used, NULL, NULL, &p, &v);
	CHECK(v.exceeded && v.percent > 100, "check: a huge use's percent is "
	    "capped, not wrapped");
}

static void
test_message(void)
{
	struct budget_verdict v;
	char msg[256];

	set_tz("Europe/Berlin");
	memset(&v, 0, sizeof(v));
	v.exceeded = 1;
	v.period = BUDGET_DAY;
	v.unit = BUDGET_TOKENS;
	v.limit = 10000;
	v.used = 10234;
	v.resets_at = at(2026, 12, 3, 0, 0);
	budget_message(&v, "USD", msg, sizeof(msg));
	CHECK_STR(msg, "your daily budget is used up: 10234 of 10000 tokens; "
	    "it resets at 2026-12-03 00:00 (+01:00)", "message: daily tokens");
	v.site = 1;
	v.period = BUDGET_MONTH;
	v.unit = BUDGET_COST;
	v.limit = 5 * BUDGET_MICROS;
	v.used = 4210000;
	v.resets_at = at(2026, 4, 1, 0, 0);
	budget_message(&v, "USD", msg, sizeof(msg));
	CHECK_STR(msg, "the site's monthly budget is used up: 4.21 of 5.00 "
	    "USD; it resets at 2026-04-01 00:00 (+02:00)",
	    "message: the site's monthly money, summer time");
	budget_message(&v, "", msg, sizeof(msg));
	CHECK_STR(msg, "the site's monthly budget is used up: 4.21 of 5.00; "
	    "it resets at 2026-04-01 00:00 (+02:00)",
	    "message: no currency: the amounts alone");
	budget_message(&v, "USD", msg, 20);
	CHECK(strlen(msg) == 19, "message: cut to its buffer");
	v.exceeded = 0;
	budget_message(&v, "USD", msg, sizeof(msg));
	CHECK_STR(msg, "", "message: none for a prompt admitted");
}

static void
test_parse_limit(void)
{
	static const struct {
		const char *s;
		int rc;
		enum budget_unit unit;
		long long value;
	} cases[] = {
		{ "2M-tokens", 0, BUDGET_TOKENS, 2000000 },
		{ "500k-tokens", 0, BUDGET_TOKENS, 500000 },
		{ "500K-tokens", 0, BUDGET_TOKENS, 500000 },
		{ "1500-tokens", 0, BUDGET_TOKENS, 1500 },
		{ "1500tokens", 0, BUDGET_TOKENS, 1500 },
		{ "1.5M-tokens", 0, BUDGET_TOKENS, 1500000 },
		{ "0.5k-tokens", 0, BUDGET_TOKENS, 500 },
		{ "1G-tokens", 0, BUDGET_TOKENS, 1000000000 },
		{ "1000G-tokens", 0, BUDGET_TOKENS, BUDGET_TOKENS_MAX },
		{ "1000000000000-tokens", 0, BUDGET_TOKENS, BUDGET_TOKENS_MAX },
		{ "5", 0, BUDGET_COST, 5000000 },
		{ "5.00", 0, BUDGET_COST, 5000000 },
		{ "0.125", 0, BUDGET_COST, 125000 },
		{ "0.000001", 0, BUDGET_COST, 1 },
		{ "1000000000", 0, BUDGET_COST, BUDGET_COST_MAX },
		{ "none", 0, BUDGET__UNITS, BUDGET_NONE },
		{ "default", 0, BUDGET__UNITS, BUDGET_DEFAULT },
		/* bad */
		{ "0-tokens", -1, BUDGET__UNITS, 0 },
		{ "0", -1, BUDGET__UNITS, 0 },
		{ "0.00", -1, BUDGET__UNITS, 0 },
		{ "-5", -1, BUDGET__UNITS, 0 },
		{ "-5-tokens", -1, BUDGET__UNITS, 0 },
		{ "+5", -1, BUDGET__UNITS, 0 },
		{ "5.0000001", -1, BUDGET__UNITS, 0 },
		{ "5.", -1, BUDGET__UNITS, 0 },
		{ ".5", -1, BUDGET__UNITS, 0 },
		{ "5,00", -1, BUDGET__UNITS, 0 },
		{ "5 ", -1, BUDGET__UNITS, 0 },
		{ " 5", -1, BUDGET__UNITS, 0 },
		{ "5USD", -1, BUDGET__UNITS, 0 },
		{ "1e3", -1, BUDGET__UNITS, 0 },
		{ "2M", -1, BUDGET__UNITS, 0 },
		{ "2M-token", -1, BUDGET__UNITS, 0 },
		{ "2M-tokensx", -1, BUDGET__UNITS, 0 },
		{ "2X-tokens", -1, BUDGET__UNITS, 0 },
		{ "-tokens", -1, BUDGET__UNITS, 0 },
		{ "tokens", -1, BUDGET__UNITS, 0 },
		{ "1.5-tokens", -1, BUDGET__UNITS, 0 },
		{ "1.2345k-tokens", -1, BUDGET__UNITS, 0 },
		{ "1001G-tokens", -1, BUDGET__UNITS, 0 },
		{ "1000000000001-tokens", -1, BUDGET__UNITS, 0 },
		{ "99999999999999999999999-tokens", -1, BUDGET__UNITS, 0 },
		{ "9223372036854775807G-tokens", -1, BUDGET__UNITS, 0 },
		{ "1000000000.000001", -1, BUDGET__UNITS, 0 },
		{ "99999999999999999999", -1, BUDGET__UNITS, 0 },
		{ "None", -1, BUDGET__UNITS, 0 },
		{ "", -1, BUDGET__UNITS, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum budget_unit unit = BUDGET_TOKENS;
		long long value = 42;
		char name[96];
		int rc = budget_parse_limit(cases[i].s, &unit, &value);
		snprintf(name, sizeof(name), "parse_limit: '%s' %s", cases[i].s,
		    cases[i].rc == 0 ? "parses" : "is refused");
		CHECK(rc == cases[i].rc && (rc != 0 || (unit == cases[i].unit &&
		    value == cases[i].value)), name);
		if (rc != cases[i].rc || (rc == 0 && value != cases[i].value))
			printf("#   rc %d unit %d value %lld\n", rc, (int)unit,
			    value);
	}
	enum budget_unit u;
	long long v;
	CHECK(budget_parse_limit(NULL, &u, &v) == -1, "parse_limit: NULL");
}

static void
test_money(void)
{
	static const struct {
		const char *s;
		long long max;
		int rc;
		long long micros;
	} parse[] = {
		{ "0", BUDGET_COST_MAX, 0, 0 },
		{ "2.50", BUDGET_COST_MAX, 0, 2500000 },
		{ "0.000150", BUDGET_COST_MAX, 0, 150 },
		{ "12.345678", BUDGET_COST_MAX, 0, 12345678 },
		{ "007", BUDGET_COST_MAX, 0, 7000000 },
		{ "1000000", 1000000 * BUDGET_MICROS, 0, 1000000 * BUDGET_MICROS },
		{ "1000000.000001", 1000000 * BUDGET_MICROS, -1, 0 },
		{ "5", 4 * BUDGET_MICROS, -1, 0 },
		{ "4.999999", 5 * BUDGET_MICROS - 1, 0, 5 * BUDGET_MICROS - 1 },
		{ "9223372036854775807", 9223372036854775807LL, -1, 0 },
		{ "9223372036854.775807", 9223372036854775807LL, 0,
		  9223372036854775807LL },
		{ "9223372036854.775808", 9223372036854775807LL, -1, 0 },
		{ "1.2.3", BUDGET_COST_MAX, -1, 0 },
		{ "1.", BUDGET_COST_MAX, -1, 0 },
		{ "", BUDGET_COST_MAX, -1, 0 },
		{ "abc", BUDGET_COST_MAX, -1, 0 },
		{ "-1", BUDGET_COST_MAX, -1, 0 },
		{ "1.0000000", BUDGET_COST_MAX, -1, 0 },
	};
	static const struct {
		long long micros;
		const char *s;
	} fmt[] = {
		{ 0, "0.00" }, { 5000000, "5.00" }, { 4200, "0.0042" },
		{ 12345678, "12.345678" }, { 2500000, "2.50" }, { 1, "0.000001" },
		{ 10, "0.00001" }, { -4210000, "-4.21" },
		{ BUDGET_COST_MAX, "1000000000.00" },
		{ -9223372036854775807LL - 1, "-9223372036854.775808" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		long long m = 42;
		char name[96];
		int rc = budget_parse_money(parse[i].s, parse[i].max, &m);
		snprintf(name, sizeof(name), "parse_money: '%s' %s", parse[i].s,
		    parse[i].rc == 0 ? "parses" : "is refused");
		CHECK(rc == parse[i].rc && (rc != 0 || m == parse[i].micros),
		    name);
	}
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		char name[64];
		budget_format_money(fmt[i].micros, out, sizeof(out));
		snprintf(name, sizeof(name), "format_money: %lld", fmt[i].micros);
		CHECK_STR(out, fmt[i].s, name);
	}
	/* What is formatted parses back to itself. */
	for (long long m = 0; m < 3 * BUDGET_MICROS; m += 99991) {
		long long back = -1;
		budget_format_money(m, out, sizeof(out));
		if (budget_parse_money(out, BUDGET_COST_MAX, &back) != 0 ||
		    back != m) {
			CHECK(0, "format_money: round trip");
			return;
		}
	}
	CHECK(1, "format_money: 31 amounts parse back to themselves");
}

static void
test_tokens(void)
{
	static const struct {
		long long n;
		const char *s;
	} fmt[] = {
		{ 0, "0" }, { 9999, "9999" }, { 10000, "10k" }, { 10234, "10.2k" },
		{ 15500, "15.5k" }, { 150000, "150k" }, { 99960, "100k" },
		{ 999499, "999k" }, { 999500, "1M" }, { 999949, "1M" },
		{ 1000000, "1M" }, { 2000000, "2M" }, { 1500000, "1.5M" },
		{ 1250000000, "1.3G" }, { 1000000000000LL, "1000G" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		char name[64];
		budget_format_tokens(fmt[i].n, out, sizeof(out));
		snprintf(name, sizeof(name), "format_tokens: %lld", fmt[i].n);
		CHECK_STR(out, fmt[i].s, name);
	}
	CHECK(budget_estimate_tokens(0) == 0 && budget_estimate_tokens(1) == 1 &&
	    budget_estimate_tokens(4) == 1 && budget_estimate_tokens(5) == 2 &&
	    budget_estimate_tokens(4000) == 1000,
	    "estimate: a token per 4 bytes, rounded up");
	CHECK(budget_estimate_tokens((size_t)-1) > 0,
	    "estimate: the largest size does not wrap");
}

static void
test_cost(void)
{
	/* 2.50 in and 10.00 out per million. */
	long long in = 2500000, out = 10000000;

	CHECK(budget_cost(1000, 500, in, out) == 7500,
	    "cost: 1000 in, 500 out at 2.50/10.00: 0.0075");
	CHECK(budget_cost(1, 0, in, out) == 3, "cost: 1 token at 2.50/M is 2.5 "
	    "micro-units, rounded to 3");
	CHECK(budget_cost(1, 0, 2400000, out) == 2, "cost: 2.4 rounds down");
	CHECK(budget_cost(0, 0, in, out) == 0, "cost: nothing costs nothing");
	CHECK(budget_cost(1000, 500, -1, out) == -1 &&
	    budget_cost(1000, 500, in, -1) == -1, "cost: no price: -1");
	CHECK(budget_cost(1000000, 1000000, 0, 0) == 0, "cost: free model: 0");
	CHECK(budget_cost(BUDGET_TOKENS_MAX, BUDGET_TOKENS_MAX,
	    1000000 * BUDGET_MICROS, 1000000 * BUDGET_MICROS) ==
	    2000000000000000000LL, "cost: the largest figures do not overflow");
	CHECK(budget_cost(9000000000000000000LL, 9000000000000000000LL,
	    1000000 * BUDGET_MICROS, 1000000 * BUDGET_MICROS) ==
	    9223372036854775807LL, "cost: beyond a long long: capped");
}

int
main(void)
{
	test_periods();
	test_date_ok();
	test_effective();
	test_check();
	test_message();
	test_parse_limit();
	test_money();
	test_tokens();
	test_cost();
	UNIT_EXIT();
}
