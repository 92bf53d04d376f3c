/*
 * vsnprintf for the hypervisor: %d %i %u %x %X %o %c %s %p %%, with the
 * l, ll, z and h length modifiers, '-' and '0' flags, a field width and a
 * precision (either may be '*').
 * Returns the length the whole result would have, as C99 does.
 */
#include <lamina/lib.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	bool left;
	bool zero;
	unsigned int width;
	int prec;      /* -1: none */
	int lng;       /* 0 int, 1 long, 2 long long, 3 size_t, -1 short */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, unsigned int n, char c)
{
	while (n--)
		put(o, c);
}

static void put_str(struct out *o, const struct spec *sp, const char *s,
		    size_t n)
{
	unsigned int fill = sp->width > n ? sp->width - (unsigned int)n : 0;

	if (!sp->left)
		pad(o, fill, ' ');
	while (n--)
		put(o, *s++);
	if (sp->left)
		pad(o, fill, ' ');
}

static void put_num(struct out *o, const struct spec *sp, u64 v, bool neg,
		    unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned int n = 0, len, fill;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	while (sp->prec > 0 && n < (unsigned int)sp->prec && n < sizeof(tmp))
		tmp[n++] = '0';
	len = n + (neg ? 1 : 0);
	fill = sp->width > len ? sp->width - len : 0;
	if (!sp->left && !sp->zero)
		pad(o, fill, ' ');
	if (neg)
		put(o, '-');
	if (!sp->left && sp->zero)
		pad(o, fill, '0');
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, fill, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	int w;

	memset(sp, 0, sizeof(*sp));
	sp->prec = -1;
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		w = va_arg(*ap, int);
		sp->left |= w < 0;
		sp->width = w < 0 ? -(unsigned int)w : (unsigned int)w;
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (unsigned int)(*f++ - '0');
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			w = va_arg(*ap, int);
			sp->prec = w < 0 ? -1 : w;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	if (*f == 'h') {
		sp->lng = -1;
		while (*f == 'h')
			f++;
	} else if (*f == 'z') {
		sp->lng = 3;
		f++;
	} else {
		while (*f == 'l' && sp->lng < 2) {
			sp->lng++;
			f++;
		}
	}
	return f;
}

static u64 get_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->lng) {
	case 1:
		return va_arg(*ap, unsigned long);
	case 2:
		return va_arg(*ap, unsigned long long);
	case 3:
		return va_arg(*ap, size_t);
	case -1:
		return (unsigned short)va_arg(*ap, unsigned int);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static s64 get_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->lng) {
	case 1:
		return va_arg(*ap, long);
	case 2:
		return va_arg(*ap, long long);
	case 3:
		return (s64)va_arg(*ap, size_t);
	case -1:
		return (short)va_arg(*ap, int);
	default:
		return va_arg(*ap, int);
	}
}

static void convert(struct out *o, struct spec *sp, char c, va_list *ap)
{
	s64 sv;
	const char *s;
	char ch[2] = { 0, 0 };

	switch (c) {
	case 'd':
	case 'i':
		sv = get_signed(sp, ap);
		put_num(o, sp, sv < 0 ? -(u64)sv : (u64)sv, sv < 0, 10, false);
		break;
	case 'u':
		put_num(o, sp, get_unsigned(sp, ap), false, 10, false);
		break;
	case 'x':
	case 'X':
		put_num(o, sp, get_unsigned(sp, ap), false, 16, c == 'X');
		break;
	case 'o':
		put_num(o, sp, get_unsigned(sp, ap), false, 8, false);
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_num(o, sp, (u64)(uintptr_t)va_arg(*ap, void *), false, 16, false);
		break;
	case 'c':
		ch[0] = (char)va_arg(*ap, int);
		put_str(o, sp, ch, 1);
		break;
	case 's':
		s = va_arg(*ap, const char *);
		s = s ? s : "(null)";
		put_str(o, sp, s, sp->prec < 0 ? strlen(s) :
				  strnlen(s, (size_t)sp->prec));
		break;
	case '%':
		put(o, '%');
		break;
	default: /* unknown conversion: show it rather than guess */
		put(o, '%');
		put(o, c);
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		if (!*fmt)
			break;
		convert(&o, &sp, *fmt++, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
