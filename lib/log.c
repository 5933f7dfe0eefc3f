/* log.c - bounded, escaped, one-line-per-event logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_component = "lightchat";
static enum lc_log_level log_threshold = LC_LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(const char *component, const char *level)
{
	if (component != NULL)
		log_component = component;
	if (level == NULL)
		return;
	for (int i = 0; i < 4; i++)
		if (strcmp(level, level_names[i]) == 0)
			log_threshold = (enum lc_log_level)i;
}

void
log_msg(enum lc_log_level level, const char *fmt, ...)
{
	char raw[LC_LOG_LINE_MAX];
	char line[LC_LOG_LINE_MAX];
	size_t n = 0;
	va_list ap;
	int len;

	if (level < log_threshold)
		return;
	va_start(ap, fmt);
	len = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;

	len = snprintf(line, sizeof(line), "%s %s: ", level_names[level],
	    log_component);
	if (len < 0 || (size_t)len >= sizeof(line))
		return;
	n = (size_t)len;
	/* Escape control bytes as \xNN; keep room for "...\n". */
	for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
		if (n + 8 >= sizeof(line)) {
			memcpy(line + n, "...", 3);
			n += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "\\x%02x", *p);
		} else {
			line[n++] = (char)*p;
		}
	}
	line[n++] = '\n';
	/* One write() so concurrent processes do not interleave lines. */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
