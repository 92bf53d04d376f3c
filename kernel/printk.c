/*
 * The kernel log. Lines carry the uptime and go into a ring buffer that the
 * monitor's `log` command replays; lines at or above the console level also
 * go to the serial console.
 */
#include <lamina/kernel.h>
#include <lamina/lib.h>
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

/* The serial line wants CR LF. */
static void console_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			uart_putc('\r');
		uart_putc(s[i]);
	}
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

	log_lock_take();
	ring_put(line, (size_t)n);
	if (level <= console_level)
		console_put(line, (size_t)n);
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
	log_lock_take();
	console_put(s, n);
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
 * Replay the ring. The oldest line may have been cut by wrap-around: skip
 * to the first full line.
 */
void log_for_each(void (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
	static char line[LOG_LINE_MAX];
	u64 start, end, i;
	size_t len = 0;

	log_lock_take();
	end = log_head;
	start = end > LOG_BUF_SIZE ? end - LOG_BUF_SIZE : 0;
	if (start)
		while (start < end && log_buf[start++ % LOG_BUF_SIZE] != '\n')
			;
	for (i = start; i < end; i++) {
		char c = log_buf[i % LOG_BUF_SIZE];

		if (c != '\n' && len < sizeof(line) - 1) {
			line[len++] = c;
			continue;
		}
		if (c == '\n') {
			fn(ctx, line, len);
			len = 0;
		}
	}
	log_lock_drop();
}
