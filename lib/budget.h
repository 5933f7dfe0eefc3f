/* budget.h - usage budgets (issue 16): the limits that apply to a user
 * (their own overrides over the configured defaults, and the site's
 * monthly cap), the periods they count over (the server's local day and
 * month, as TZ says), the verdict for a prompt, and the arithmetic of
 * tokens and money. Pure: no SQLite, no clock of its own (now is passed
 * in), so the unit tests fake the day; lib/store_usage.c keeps the ledger
 * the sums come from.
 *
 * Money is in micro-units of the configured currency (BUDGET_MICROS to
 * one), integers, so that sums are exact: a report's total is the sum of
 * its rows. Tokens are prompt + completion (a completion's reasoning
 * tokens are part of it, as OpenAI, DeepSeek and OpenRouter report them). */
#ifndef LC_BUDGET_H
#define LC_BUDGET_H

#include <stddef.h>
#include <time.h>

#define BUDGET_MICROS 1000000LL   /* micro-units in one unit of money */
#define BUDGET_COST_MAX (1000000000LL * BUDGET_MICROS)  /* 1e9 a limit */
#define BUDGET_TOKENS_MAX 1000000000000LL               /* 1e12 a limit */
#define BUDGET_DATE_LEN 10        /* "YYYY-MM-DD" */
#define BUDGET_ISO_MAX 32         /* "2026-12-03T00:00:00+01:00" and a NUL */

enum budget_period { BUDGET_DAY, BUDGET_MONTH, BUDGET__PERIODS };
enum budget_unit { BUDGET_TOKENS, BUDGET_COST, BUDGET__UNITS };

/* A value of a limit: BUDGET_NONE (no limit), BUDGET_DEFAULT (a user's
 * override only: the configured default applies), else > 0 (tokens, or
 * micro-units of money). */
#define BUDGET_NONE 0LL
#define BUDGET_DEFAULT (-1LL)

struct budget_limits {
	long long v[BUDGET__PERIODS][BUDGET__UNITS];
};

/* What was used in each period: tokens, and money in micro-units. */
struct budget_used {
	long long v[BUDGET__PERIODS][BUDGET__UNITS];
};

/* The local day and month that hold a moment: [start, end) of each, and
 * the dates of the day and of the month's first day ("YYYY-MM-DD", the
 * ledger's day column). Across a DST change a day is 23 or 25 hours. */
struct budget_periods {
	time_t start[BUDGET__PERIODS], end[BUDGET__PERIODS];
	char day[BUDGET_DATE_LEN + 1];
	char month_first[BUDGET_DATE_LEN + 1];
};

/* Fills *out for now in the local time zone. Returns 0, or -1 when the
 * time cannot be converted (*out zeroed). */
int budget_periods(time_t now, struct budget_periods *out);

/* The local date of t ("YYYY-MM-DD" into out, BUDGET_DATE_LEN + 1
 * bytes). Returns 0 or -1. */
int budget_date(time_t t, char *out);

/* Whether s is a date "YYYY-MM-DD" that exists (a report's --since).
 * Returns 1 or 0. */
int budget_date_ok(const char *s);

/* The limits that apply to a user: each of own's values (NULL: all
 * BUDGET_DEFAULT) over the default's. */
void budget_effective(const struct budget_limits *defaults,
    const struct budget_limits *own, struct budget_limits *out);

/* Whether any of lim's values is a limit (> 0). Returns 1 or 0. */
int budget_any(const struct budget_limits *lim);

/* A prompt's verdict. */
struct budget_verdict {
	int exceeded;             /* 1: the prompt may not start */
	int site;                 /* 1: the site's monthly cap, not the user's */
	enum budget_period period;
	enum budget_unit unit;
	long long limit, used;    /* of the limit reached */
	time_t resets_at;         /* the end of its period */
	int percent;              /* the highest use of any of the user's own
	                           * limits and the site's, in percent (0 with
	                           * no limit; may pass 100) */
};

/* Decides whether a prompt may start: it may while every limit (the
 * user's effective lim, the site's site; either may be NULL: none) is
 * above what was used, so a reply admitted just under a limit may pass it
 * (the overshoot rule: a reply in flight is never cut; docs/ARCHITECTURE.md,
 * "Usage and budgets"). The first limit reached decides, in the order:
 * the user's day tokens, day money, month tokens, month money, then the
 * site's month tokens and money (the site's day limits are not used).
 * *out always gets percent; the rest only when exceeded. */
void budget_check(const struct budget_limits *lim,
    const struct budget_used *used, const struct budget_limits *site,
    const struct budget_used *site_used, const struct budget_periods *p,
    struct budget_verdict *out);

/* A sentence for people about an exceeded verdict, into out (cap bytes):
 * "your daily budget is used up: 10234 of 10000 tokens; it resets at
 * 2026-12-03 00:00 (+01:00)", money as "4.21 of 5.00 USD" (currency may
 * be "" : the amount alone). */
void budget_message(const struct budget_verdict *v, const char *currency,
    char *out, size_t cap);

/* t as local ISO 8601 with its offset ("2026-12-03T00:00:00+01:00") into
 * out (BUDGET_ISO_MAX bytes). Returns 0 or -1. */
int budget_iso_time(time_t t, char *out);

/* Parses a limit as an admin writes it: "2M-tokens", "500k-tokens",
 * "1500-tokens" (k 1e3, M 1e6, G 1e9; also "tokens" alone after a plain
 * number), money "5", "5.00", "0.125" (at most 6 decimals), "none" (no
 * limit) or "default". *unit gets the kind (BUDGET__UNITS for "none" and
 * "default": both kinds), *value tokens, micro-units, BUDGET_NONE or
 * BUDGET_DEFAULT. Returns 0, or -1 for anything else (zero, negative, over
 * BUDGET_TOKENS_MAX or BUDGET_COST_MAX, trailing junk). */
int budget_parse_limit(const char *s, enum budget_unit *unit,
    long long *value);

/* Parses an amount of money ("5", "2.50", "0.000150": digits, at most one
 * '.', at most 6 decimals, at most max micro-units) into *micros.
 * Returns 0 or -1. */
int budget_parse_money(const char *s, long long max, long long *micros);

/* Formats micro-units as money into out (cap bytes): at least 2 decimals,
 * more when they are not zero, at most 6 ("5.00", "0.0042", "12.345678").
 * Negative values get a '-'. */
void budget_format_money(long long micros, char *out, size_t cap);

/* Formats a token count for people into out: "10234", "1.5k", "2M"
 * (exact figures below 10000). */
void budget_format_tokens(long long tokens, char *out, size_t cap);

/* The tokens bytes of text are estimated to be, for a reply whose
 * upstream reported no usage: one per 4 bytes, rounded up (OpenAI's rule
 * of thumb for English; 0 bytes are 0 tokens). */
long long budget_estimate_tokens(size_t bytes);

/* The cost in micro-units of prompt and completion tokens at prices in
 * micro-units per million tokens (price_in, price_out; < 0: the model has
 * no price, and the result is -1), rounded to the nearest micro-unit. */
long long budget_cost(long long prompt, long long completion,
    long long price_in, long long price_out);

#endif
