/*
 * The line to the monitor: a serial device or pseudo-terminal set raw, or
 * a Unix stream socket (QEMU's -serial unix:PATH,server=on). Non-blocking,
 * so every wait ends at the caller's deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define READ_CHUNK 4096

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static speed_t baud_speed(unsigned int baud)
{
	switch (baud) {
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	case 460800: return B460800;
	case 921600: return B921600;
	default: return 0;
	}
}

static int conn_init(struct conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->buf = malloc(CONN_LINE_MAX + READ_CHUNK + 1);
	if (!c->buf) {
		fprintf(stderr, "lamina-ctl: out of memory\n");
		close(fd);
		return -1;
	}
	return 0;
}

/* 8N1 at @baud, no flow control, no line discipline, no echo. */
static int set_raw(int fd, const char *dev, unsigned int baud)
{
	struct termios t;
	speed_t speed = baud_speed(baud);

	if (!speed) {
		fprintf(stderr, "lamina-ctl: unsupported baud rate %u\n", baud);
		return -1;
	}
	if (tcgetattr(fd, &t) < 0) {
		fprintf(stderr, "lamina-ctl: %s: %s\n", dev, strerror(errno));
		return -1;
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~(CRTSCTS | CSTOPB);
	t.c_iflag &= ~(IXON | IXOFF);
	cfsetispeed(&t, speed);
	cfsetospeed(&t, speed);
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		fprintf(stderr, "lamina-ctl: %s: %s\n", dev, strerror(errno));
		return -1;
	}
	/* Whatever arrived before we came is not our reply. */
	tcflush(fd, TCIFLUSH);
	return 0;
}

int conn_open_serial(struct conn *c, const char *dev, unsigned int baud)
{
	int fd = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "lamina-ctl: %s: %s\n", dev, strerror(errno));
		return -1;
	}
	if (isatty(fd) && set_raw(fd, dev, baud) < 0) {
		close(fd);
		return -1;
	}
	return conn_init(c, fd);
}

int conn_open_unix(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "lamina-ctl: %s: socket path too long (max %zu)\n",
			path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		fprintf(stderr, "lamina-ctl: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return conn_init(c, fd);
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

/* Wait for @events on the line until @deadline: 1 ready, 0 late, -1 error. */
static int wait_fd(struct conn *c, short events, double deadline)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = events };
		double left = deadline - now_s();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "lamina-ctl: poll: %s\n", strerror(errno));
			return -1;
		}
	}
}

static void pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int conn_send(struct conn *c, const char *s, size_t n, unsigned int delay_ms,
	      double deadline)
{
	while (n) {
		size_t chunk = delay_ms ? 1 : n;
		ssize_t w = write(c->fd, s, chunk);
		int r;

		if (w > 0) {
			s += w;
			n -= (size_t)w;
			if (delay_ms)
				pause_ms(delay_ms);
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "lamina-ctl: write: %s\n", strerror(errno));
			return -1;
		}
		r = wait_fd(c, POLLOUT, deadline);
		if (r <= 0) {
			if (!r)
				fprintf(stderr, "lamina-ctl: timed out sending\n");
			return -1;
		}
	}
	return 0;
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/*
 * A whole line in the buffer: 1 with *@line and *@len, else 0. A line
 * longer than CONN_LINE_MAX is dropped as it arrives, up to its end.
 */
static int take_line(struct conn *c, char **line, size_t *len)
{
	char *nl = memchr(c->buf, '\n', c->len);
	size_t n;

	if (!nl) {
		if (c->len > CONN_LINE_MAX) {
			c->skipping = true;
			c->len = 0;
		}
		return 0;
	}
	n = (size_t)(nl - c->buf);
	if (c->skipping) {
		c->skipping = false;
		consume(c, n + 1);
		return take_line(c, line, len);
	}
	c->taken = n + 1;
	*nl = '\0';
	if (n && c->buf[n - 1] == '\r')
		c->buf[--n] = '\0';
	*line = c->buf;
	*len = n;
	return 1;
}

int conn_read_line(struct conn *c, double deadline, char **line, size_t *len)
{
	consume(c, c->taken); /* the line returned last time */
	c->taken = 0;
	for (;;) {
		ssize_t r;
		int w;

		if (take_line(c, line, len))
			return 1;
		r = read(c->fd, c->buf + c->len, READ_CHUNK);
		if (r > 0) {
			c->len += (size_t)r;
			continue;
		}
		if (r == 0) {
			fprintf(stderr, "lamina-ctl: the line closed\n");
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "lamina-ctl: read: %s\n", strerror(errno));
			return -1;
		}
		w = wait_fd(c, POLLIN, deadline);
		if (w <= 0)
			return w;
	}
}
