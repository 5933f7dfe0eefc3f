/* budget.c - usage budgets (budget.h): the local day and month a moment
 * falls in, a prompt's verdict against the limits, the sentence that says
 * it, and the strict parsing and formatting of token counts and money.
 * Pure: no SQLite, no clock; numbers are parsed digit by digit (no strtod,
 * no locale) with every multiplication checked for overflow. */
#include "budget.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define MONEY_DECIMALS 6          /* digits after the point: micro-units */
#define OFFSET_CAP 8              /* "+01:00" and a NUL, with room */

/* tm of t in the local time zone; 0 or -1. */
static int
local_tm(time_t t, struct tm *tm)
{
	return localtime_r(&t, tm) != NULL ? 0 : -1;
}

/* The moment local midnight starts day mday of month mon of tm's year
 * (both may be out of range: mktime normalises); across a DST change the
 * isdst of that midnight is mktime's to find (-1). */
static time_t
local_midnight(const struct tm *base, int mon, int mday)
{
	struct tm tm = *base;

	tm.tm_mon = mon;
	tm.tm_mday = mday;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

int
budget_periods(time_t now, struct budget_periods *out)
{
	struct tm tm;

	memset(out, 0, sizeof(*out));
	if (local_tm(now, &tm) != 0)
		return -1;
	out->start[BUDGET_DAY] = local_midnight(&tm, tm.tm_mon, tm.tm_mday);
	out->end[BUDGET_DAY] = local_midnight(&tm, tm.tm_mon, tm.tm_mday + 1);
	out->start[BUDGET_MONTH] = local_midnight(&tm, tm.tm_mon, 1);
	out->end[BUDGET_MONTH] = local_midnight(&tm, tm.tm_mon + 1, 1);
	if (out->start[BUDGET_DAY] == (time_t)-1 ||
	    out->end[BUDGET_DAY] == (time_t)-1 ||
	    out->start[BUDGET_MONTH] == (time_t)-1 ||
	    out->end[BUDGET_MONTH] == (time_t)-1 ||
	    strftime(out->day, sizeof(out->day), "%Y-%m-%d", &tm) !=
	    BUDGET_DATE_LEN ||
	    strftime(out->month_first, sizeof(out->month_first), "%Y-%m-01",
	    &tm) != BUDGET_DATE_LEN) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int
budget_date(time_t t, char *out)
{
	struct tm tm;

	out[0] = '\0';
	if (local_tm(t, &tm) != 0 || strftime(out, BUDGET_DATE_LEN + 1,
	    "%Y-%m-%d", &tm) != BUDGET_DATE_LEN) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* The value of n digits at s, or -1 when one is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
budget_date_ok(const char *s)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int y, m, d, max;

	if (s == NULL || strlen(s) != BUDGET_DATE_LEN || s[4] != '-' ||
	    s[7] != '-')
		return 0;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return 0;
	max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

void
budget_effective(const struct budget_limits *defaults,
    const struct budget_limits *own, struct budget_limits *out)
{
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++) {
			long long d = defaults != NULL ? defaults->v[p][u] :
			    BUDGET_NONE;
			long long o = own != NULL ? own->v[p][u] :
			    BUDGET_DEFAULT;
			out->v[p][u] = o == BUDGET_DEFAULT ? d : o;
		}
}

int
budget_any(const struct budget_limits *lim)
{
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			if (lim->v[p][u] > 0)
				return 1;
	return 0;
}

/* used in percent of limit (> 0), rounded down, at most INT_MAX. */
static int
percent_of(long long used, long long limit)
{
	long long pct;

	if (used <= 0)
		return 0;
	if (used > LLONG_MAX / 100)
		return INT_MAX;
	pct = used * 100 / limit;
	return pct > INT_MAX ? INT_MAX : (int)pct;
}

/* One limit to weigh: its place in the check's order. */
struct check_step {
	int site;
	enum budget_period period;
	enum budget_unit unit;
};

/* The order of budget_check (budget.h). */
static const struct check_step check_order[] = {
	{ 0, BUDGET_DAY, BUDGET_TOKENS },
	{ 0, BUDGET_DAY, BUDGET_COST },
	{ 0, BUDGET_MONTH, BUDGET_TOKENS },
	{ 0, BUDGET_MONTH, BUDGET_COST },
	{ 1, BUDGET_MONTH, BUDGET_TOKENS },
	{ 1, BUDGET_MONTH, BUDGET_COST },
};

void
budget_check(const struct budget_limits *lim,
    const struct budget_used *used, const struct budget_limits *site,
    const struct budget_used *site_used, const struct budget_periods *p,
    struct budget_verdict *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(check_order) / sizeof(check_order[0]);
	    i++) {
		const struct check_step *c = &check_order[i];
		const struct budget_limits *l = c->site ? site : lim;
		const struct budget_used *u = c->site ? site_used : used;
		long long limit, have;
		int pct;

		if (l == NULL || (limit = l->v[c->period][c->unit]) <= 0)
			continue;
		have = u != NULL ? u->v[c->period][c->unit] : 0;
		pct = percent_of(have, limit);
		if (pct > out->percent)
			out->percent = pct;
		if (out->exceeded || have < limit)
			continue;
		out->exceeded = 1;
		out->site = c->site;
		out->period = c->period;
		out->unit = c->unit;
		out->limit = limit;
		out->used = have;
		out->resets_at = p != NULL ? p->end[c->period] : 0;
	}
}

/* "+01:00" for tm's offset into out (OFFSET_CAP bytes). */
static void
format_offset(const struct tm *tm, char *out)
{
	long off = tm->tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	unsigned long a = off < 0 ? 0UL - (unsigned long)off :
	    (unsigned long)off;

	snprintf(out, OFFSET_CAP, "%c%02u:%02u", sign,
	    (unsigned)(a / 3600 % 100), (unsigned)(a / 60 % 60));
}

void
budget_message(const struct budget_verdict *v, const char *currency,
    char *out, size_t cap)
{
	char limit[32], used[32], when[24] = "?", off[OFFSET_CAP] = "";
	struct tm tm;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (!v->exceeded)
		return;
	if (v->unit == BUDGET_COST) {
		budget_format_money(v->limit, limit, sizeof(limit));
		budget_format_money(v->used, used, sizeof(used));
	} else {
		snprintf(limit, sizeof(limit), "%lld", v->limit);
		snprintf(used, sizeof(used), "%lld", v->used);
	}
	if (local_tm(v->resets_at, &tm) == 0) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		format_offset(&tm, off);
	}
	if (currency == NULL)
		currency = "";
	snprintf(out, cap, "%s %s budget is used up: %s of %s%s%s; it resets "
	    "at %s (%s)", v->site ? "the site's" : "your",
	    v->period == BUDGET_DAY ? "daily" : "monthly", used, limit,
	    v->unit == BUDGET_TOKENS ? " tokens" : currency[0] != '\0' ?
	    " " : "", v->unit == BUDGET_TOKENS ? "" : currency, when, off);
}

int
budget_iso_time(time_t t, char *out)
{
	struct tm tm;
	char off[OFFSET_CAP];
	size_t n, k;

	out[0] = '\0';
	if (local_tm(t, &tm) != 0 ||
	    (n = strftime(out, BUDGET_ISO_MAX, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		out[0] = '\0';
		return -1;
	}
	format_offset(&tm, off);
	k = strlen(off);
	if (n + k + 1 > BUDGET_ISO_MAX) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out + n, off, k + 1);
	return 0;
}

/* Reads the digits at *s into *v (at most max), moving *s past them;
 * *n gets their count. Returns 0, or -1 on overflow. */
static int
read_digits(const char **s, long long max, long long *v, int *n)
{
	*v = 0;
	*n = 0;
	while (**s >= '0' && **s <= '9') {
		int d = **s - '0';
		if (*v > (max - d) / 10)
			return -1;
		*v = *v * 10 + d;
		(*s)++;
		(*n)++;
	}
	return 0;
}

/* 10 to the power n (0..18). */
static long long
pow10ll(int n)
{
	long long p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

int
budget_parse_money(const char *s, long long max, long long *micros)
{
	long long whole, frac = 0;
	int n, nfrac = 0;

	*micros = 0;
	if (s == NULL || max < 0 ||
	    read_digits(&s, max / BUDGET_MICROS, &whole, &n) != 0 || n == 0)
		return -1;
	if (*s == '.') {
		s++;
		if (read_digits(&s, LLONG_MAX, &frac, &nfrac) != 0 ||
		    nfrac == 0 || nfrac > MONEY_DECIMALS)
			return -1;
	}
	if (*s != '\0')
		return -1;
	frac *= pow10ll(MONEY_DECIMALS - nfrac);
	if (whole * BUDGET_MICROS > max - frac)
		return -1;
	*micros = whole * BUDGET_MICROS + frac;
	return 0;
}

/* The multipliers of a token count. */
static const struct {
	char suffix;
	long long factor;
} token_units[] = {
	{ 'k', 1000LL }, { 'K', 1000LL }, { 'M', 1000000LL },
	{ 'G', 1000000000LL },
};

/* Parses "<n>[.<d>][k|M|G](-tokens|tokens)" into *value; a fraction only
 * with a multiplier, and only when it makes a whole count. 0 or -1. */
static int
parse_tokens(const char *s, long long *value)
{
	long long whole, frac = 0, factor = 1, scale;
	int n, nfrac = 0;

	if (read_digits(&s, BUDGET_TOKENS_MAX, &whole, &n) != 0 || n == 0)
		return -1;
	if (*s == '.') {
		s++;
		if (read_digits(&s, LLONG_MAX, &frac, &nfrac) != 0 ||
		    nfrac == 0 || nfrac > 9)
			return -1;
	}
	for (size_t i = 0; i < sizeof(token_units) / sizeof(token_units[0]);
	    i++)
		if (*s == token_units[i].suffix) {
			factor = token_units[i].factor;
			s++;
			break;
		}
	if (*s == '-')
		s++;
	if (strcmp(s, "tokens") != 0 || (nfrac > 0 && factor == 1))
		return -1;
	scale = pow10ll(nfrac);
	if ((frac * factor) % scale != 0 || whole > BUDGET_TOKENS_MAX / factor)
		return -1;
	*value = whole * factor + frac * factor / scale;
	return *value <= BUDGET_TOKENS_MAX ? 0 : -1;
}

int
budget_parse_limit(const char *s, enum budget_unit *unit,
    long long *value)
{
	*unit = BUDGET__UNITS;
	*value = BUDGET_NONE;
	if (s == NULL)
		return -1;
	if (strcmp(s, "none") == 0)
		return 0;
	if (strcmp(s, "default") == 0) {
		*value = BUDGET_DEFAULT;
		return 0;
	}
	if (strstr(s, "tokens") != NULL) {
		if (parse_tokens(s, value) != 0 || *value == 0)
			goto bad;
		*unit = BUDGET_TOKENS;
		return 0;
	}
	if (budget_parse_money(s, BUDGET_COST_MAX, value) != 0 || *value == 0)
		goto bad;
	*unit = BUDGET_COST;
	return 0;
bad:
	*value = BUDGET_NONE;
	return -1;
}

void
budget_format_money(long long micros, char *out, size_t cap)
{
	unsigned long long m = micros < 0 ? 0ULL - (unsigned long long)micros :
	    (unsigned long long)micros;
	char frac[MONEY_DECIMALS + 1];
	int keep = MONEY_DECIMALS;

	if (cap == 0)
		return;
	snprintf(frac, sizeof(frac), "%06llu", m % BUDGET_MICROS);
	while (keep > 2 && frac[keep - 1] == '0')
		keep--;
	frac[keep] = '\0';
	snprintf(out, cap, "%s%llu.%s", micros < 0 ? "-" : "",
	    m / BUDGET_MICROS, frac);
}

void
budget_format_tokens(long long tokens, char *out, size_t cap)
{
	static const struct {
		long long unit;
		const char *name;
	} units[] = {
		{ 1000000000LL, "G" }, { 1000000LL, "M" }, { 1000LL, "k" },
	};

	if (cap == 0)
		return;
	if (tokens < 10000) {
		snprintf(out, cap, "%lld", tokens);
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long long u = units[i].unit, tenths;
		/* from what rounds to 1 of the unit (999.5k is 1M) */
		if (tokens < u - u / 2000 && i + 1 < sizeof(units) /
		    sizeof(units[0]))
			continue;
		if (tokens >= 100 * u) {       /* whole figures, rounded */
			snprintf(out, cap, "%lld%s", tokens / u +
			    (tokens % u >= u - u / 2), units[i].name);
			return;
		}
		tenths = tokens / u * 10 + (tokens % u * 10 + u / 2) / u;
		if (tenths % 10 == 0)
			snprintf(out, cap, "%lld%s", tenths / 10, units[i].name);
		else
			snprintf(out, cap, "%lld.%lld%s", tenths / 10,
			    tenths % 10, units[i].name);
		return;
	}
}

long long
budget_estimate_tokens(size_t bytes)
{
	return (long long)(bytes / 4 + (bytes % 4 != 0));
}

long long
budget_cost(long long prompt, long long completion, long long price_in,
    long long price_out)
{
	__int128 num;

	if (price_in < 0 || price_out < 0)
		return -1;
	if (prompt < 0)
		prompt = 0;
	if (completion < 0)
		completion = 0;
	num = (__int128)prompt * price_in + (__int128)completion * price_out;
	num = (num + 500000) / 1000000;
	return num > LLONG_MAX ? LLONG_MAX : (long long)num;
}
