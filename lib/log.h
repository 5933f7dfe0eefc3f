/* log.h - one line per event on stderr: "LEVEL component: message".
 *
 * stderr is what lighttpd, websocketd and systemd capture. Lines are bounded
 * (websocketd stalls on a stderr line over 4 KiB) and control characters are
 * escaped so a hostile user name cannot forge a log line. Never pass a token,
 * password or API key to these functions. */
#ifndef LC_LOG_H
#define LC_LOG_H

enum lc_log_level { LC_LOG_DEBUG = 0, LC_LOG_INFO, LC_LOG_WARN, LC_LOG_ERR };

/* Sets the component name printed on every line (a static string) and the
 * lowest level printed ("debug", "info", "warn", "error"; NULL keeps info). */
void log_init(const char *component, const char *level);

/* Formats and writes one line if level is enabled. */
void log_msg(enum lc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LC_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LC_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LC_LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LC_LOG_ERR, __VA_ARGS__)

/* Maximum length of one log line, newline included. */
#define LC_LOG_LINE_MAX 1024

#endif
