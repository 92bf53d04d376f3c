/*
 * The kernel log. Lines carry the uptime and go into a ring buffer that the
 * monitor's `log` command replays; lines at or above the console level also
 * go to the serial console and, from kmain's first steps, to the screen
 * (drivers/fbcon.c) under the same lock.
 */
#include <lamina/fbcon.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/monitor.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/spinlock.h>
#include <lamina/uart.h>

#define LOG_BUF_SIZE (64 * 1024)
#define LOG_LINE_MAX 256

static char log_buf[LOG_BUF_SIZE];
static u64 log_head; /* total bytes ever written; index = head % size */
static spinlock_t log_lock = SPINLOCK_INIT;
static enum log_level console_level = LOG_INFO;
static bool log_forced; /* a panic took the console over */
static bool console_json; /* the monitor is in JSON mode */

/*
 * NMI and #MC handlers print too, and one may have interrupted this very
 * CPU inside printk, holding the lock: waiting for it there would wait for
 * ever. So inside such a handler the lock is only tried, for a bounded
 * time (another CPU's line takes microseconds), and the line is dropped
 * and counted when it cannot be had.
 */
#define LOG_EXCEPTION_TRIES (1u << 20)
static u32 exception_printers;	/* CPUs inside an NMI or #MC handler */
static u64 log_dropped;		/* lines those handlers could not print */

void printk_exception_enter(void)
{
	this_cpu()->exception_depth++;
	__atomic_fetch_add(&exception_printers, 1, __ATOMIC_RELAXED);
}

void printk_exception_exit(void)
{
	__atomic_fetch_sub(&exception_printers, 1, __ATOMIC_RELAXED);
	this_cpu()->exception_depth--;
}

u64 printk_dropped(void)
{
	return READ_ONCE(log_dropped);
}

/* Take the log's lock; false (and nothing taken) only in an NMI or #MC. */
static bool log_lock_try(void)
{
	if (log_forced)
		return true;
	if (likely(!READ_ONCE(exception_printers)) ||
	    !this_cpu()->exception_depth) {
		spin_lock(&log_lock);
		return true;
	}
	for (u32 i = 0; i < LOG_EXCEPTION_TRIES; i++) {
		if (spin_trylock(&log_lock))
			return true;
		cpu_relax();
	}
	__atomic_fetch_add(&log_dropped, 1, __ATOMIC_RELAXED);
	return false;
}

static void log_lock_take(void)
{
	if (!log_forced)
		spin_lock(&log_lock);
}

static void log_lock_drop(void)
{
	if (!log_forced)
		spin_unlock(&log_lock);
}

void printk_force_unlock(void)
{
	log_forced = true;
}

void log_set_console_level(enum log_level level)
{
	console_level = level;
}

void console_set_json(bool on)
{
	WRITE_ONCE(console_json, on);
}

/* The serial line wants CR LF. */
static void console_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

/*
 * A log line while the monitor speaks JSON: {"log":"..."}, so that a
 * program reading replies can tell it from one. Under the log's lock.
 */
static void console_put_json(const char *s, size_t n)
{
	static char buf[LOG_LINE_MAX * 6 + 16]; /* every byte escaped */

	console_put(buf, json_log_line(buf, sizeof(buf), s, n));
}

/* What the screen shows for a log line; a panic's text is red. */
static enum fbcon_colour screen_colour(enum log_level level)
{
	if (level == LOG_ERR || log_forced)
		return FBCON_ERROR;
	return level == LOG_WARN ? FBCON_WARN : FBCON_NORMAL;
}

static void ring_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log_buf[(log_head + i) % LOG_BUF_SIZE] = s[i];
	log_head += n;
}

void vprintk(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	u64 us = uptime_us();
	int n, m;

	n = snprintf(line, sizeof(line), "[%5llu.%06llu] ",
		     (unsigned long long)(us / 1000000),
		     (unsigned long long)(us % 1000000));
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (n == 0 || line[n - 1] != '\n')
		line[n++] = '\n';
	line[n] = '\0';

	if (!log_lock_try())
		return;
	ring_put(line, (size_t)n);
	if (level <= console_level && READ_ONCE(console_json))
		console_put_json(line, (size_t)n);
	else if (level <= console_level)
		console_put(line, (size_t)n);
	if (level <= console_level)
		fbcon_write(line, (size_t)n, screen_colour(level));
	log_lock_drop();
}

void printk(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}

void console_write(const char *s, size_t n)
{
	if (!log_lock_try())
		return;
	console_put(s, n);
	fbcon_write(s, n, screen_colour(LOG_INFO));
	log_lock_drop();
}

void console_printf(const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

/*
 * Where the oldest whole line in the ring starts: the oldest bytes may
 * have been cut by wrap-around, so after a wrap it is past the first LF.
 */
static u64 oldest_line(u64 head)
{
	u64 i = head > LOG_BUF_SIZE ? head - LOG_BUF_SIZE : 0;

	if (i)
		while (i < head && log_buf[i++ % LOG_BUF_SIZE] != '\n')
			;
	return i;
}

/*
 * Line by line, the log's lock held only while a line is copied: @fn may
 * print (to the console, which takes the lock). Lines the ring overwrites
 * meanwhile are skipped; lines logged meanwhile are not shown.
 */
void log_for_each(void (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
	static char line[LOG_LINE_MAX];
	u64 pos, end;

	log_lock_take();
	end = log_head;
	pos = oldest_line(end);
	log_lock_drop();
	for (;;) {
		size_t len = 0;
		bool whole;

		log_lock_take();
		if (pos < oldest_line(log_head))
			pos = oldest_line(log_head);
		while (pos < end && log_buf[pos % LOG_BUF_SIZE] != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = log_buf[pos % LOG_BUF_SIZE];
			pos++;
		}
		whole = pos < end;
		pos++;
		log_lock_drop();
		if (!whole)
			return;
		fn(ctx, line, len);
	}
}
