/*
 * Kernel log: every line goes to a ring buffer and, at or above the console
 * level, to the serial console. Files set a module prefix by defining
 * pr_fmt before including this header:
 *	#define pr_fmt(fmt) "smp: " fmt
 */
#ifndef LAMINA_PRINTK_H
#define LAMINA_PRINTK_H

#include <lamina/compiler.h>
#include <stdarg.h>

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

void printk(enum log_level level, const char *fmt, ...) __printf(2, 3);
void vprintk(enum log_level level, const char *fmt, va_list ap);

#define pr_err(fmt, ...) printk(LOG_ERR, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) printk(LOG_WARN, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) printk(LOG_INFO, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...) printk(LOG_DEBUG, pr_fmt(fmt), ##__VA_ARGS__)

/* Print without timestamp or level: the console only (banner, monitor). */
void console_write(const char *s, size_t n);
void console_printf(const char *fmt, ...) __printf(1, 2);

void log_set_console_level(enum log_level level);

/* The monitor's JSON mode: console log lines become {"log":"..."} lines. */
void console_set_json(bool on);

/*
 * Call @fn with each stored line of the ring buffer, oldest first. The
 * log's lock is held only while a line is copied, so @fn may print.
 */
void log_for_each(void (*fn)(void *ctx, const char *s, size_t n), void *ctx);

/*
 * Around an NMI or #MC handler: its printing then only tries the log's
 * lock, which the interrupted code on this CPU may hold; a line it cannot
 * print is counted in printk_dropped().
 */
void printk_exception_enter(void);
void printk_exception_exit(void);
u64 printk_dropped(void);

/* From a panic: stop waiting for a console lock another CPU may hold. */
void printk_force_unlock(void);

#endif
