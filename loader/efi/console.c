/*
 * Messages go to the firmware's text console (ConOut: the screen, and on
 * some firmware the serial port too) and straight to COM1 when a UART
 * answers there. COM1 is written by port I/O rather than through the
 * firmware's serial protocol because it still works after
 * ExitBootServices and because a headless machine may route ConOut
 * nowhere useful.
 */
#include <efi.h>
#include <efilib.h>
#include <stdarg.h>

#include "console.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define LSR_THRE 0x20
#define MSG_MAX 512

static int have_uart;   /* a 16550 answers at COM1 */
static int mirror_uart; /* and ConOut does not already write to a UART */

static inline void outb(UINT16 port, UINT8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline UINT8 inb(UINT16 port)
{
	UINT8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* A 16550 keeps what is written to its scratch register; nothing else does. */
static int uart_probe(void)
{
	outb(COM1 + UART_SCR, 0x5a);
	if (inb(COM1 + UART_SCR) != 0x5a)
		return 0;
	outb(COM1 + UART_SCR, 0xa5);
	return inb(COM1 + UART_SCR) == 0xa5;
}

/*
 * Does the firmware's ConOut already include a serial terminal (a UART
 * node in the ConOut variable's device paths, as OVMF sets it up)? Then
 * writing COM1 as well would print every message twice.
 */
static int conout_has_uart(void)
{
	UINT8 *dp, *p, *end;
	UINTN size = 0;
	int found = 0;

	dp = LibGetVariableAndSize(L"ConOut", &EfiGlobalVariable, &size);
	if (!dp)
		return 0;
	for (p = dp, end = dp + size; p + 4 <= end;) {
		UINTN len = p[2] | p[3] << 8;

		if (len < 4 || len > (UINTN)(end - p))
			break;
		if (p[0] == MESSAGING_DEVICE_PATH && p[1] == MSG_UART_DP) {
			found = 1;
			break;
		}
		p += len;
	}
	FreePool(dp);
	return found;
}

void con_init(void)
{
	have_uart = uart_probe();
	if (!have_uart)
		return;
	mirror_uart = !conout_has_uart();
	/* 115200 8N1, as Lamina and GRUB's grub.cfg set it. */
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x80);
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03);
	outb(COM1 + UART_FCR, 0xc7);
	outb(COM1 + UART_MCR, 0x03);
}

static void uart_putc(char c)
{
	unsigned int spins = 100000; /* a stuck UART must not stop the boot */

	while (!(inb(COM1 + UART_LSR) & LSR_THRE) && --spins)
		;
	outb(COM1 + UART_THR, (UINT8)c);
}

void con_serial_str(const char *s)
{
	if (!have_uart)
		return;
	for (; *s; s++) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s);
	}
}

static void conout_str(const char *s)
{
	CHAR16 w[MSG_MAX + 64];
	UINTN n = 0;

	if (!ST || !ST->ConOut)
		return;
	for (; *s && n + 2 < sizeof(w) / sizeof(w[0]); s++) {
		if (*s == '\n')
			w[n++] = L'\r';
		w[n++] = (CHAR16)(UINT8)*s;
	}
	w[n] = 0;
	uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, w);
}

/* ------------------------------------------------------------ formatting */

struct fmtbuf {
	char *p;
	UINTN len;
};

static void fb_putc(struct fmtbuf *b, char c)
{
	if (b->len + 1 < MSG_MAX)
		b->p[b->len++] = c;
}

static void fb_num(struct fmtbuf *b, UINT64 v, unsigned int base, int neg)
{
	char d[24];
	int i = 0;

	if (neg)
		fb_putc(b, '-');
	do {
		d[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		fb_putc(b, d[--i]);
}

static void fb_arg(struct fmtbuf *b, char conv, int longs, va_list *ap)
{
	UINT64 u;
	INT64 s;
	const char *str;

	switch (conv) {
	case 's':
		for (str = va_arg(*ap, const char *); str && *str; str++)
			fb_putc(b, *str);
		return;
	case 'c':
		fb_putc(b, (char)va_arg(*ap, int));
		return;
	case 'd':
		s = longs ? va_arg(*ap, INT64) : va_arg(*ap, int);
		fb_num(b, s < 0 ? (UINT64)-s : (UINT64)s, 10, s < 0);
		return;
	case 'u':
	case 'x':
		u = longs ? va_arg(*ap, UINT64) : va_arg(*ap, unsigned int);
		fb_num(b, u, conv == 'x' ? 16 : 10, 0);
		return;
	default:
		fb_putc(b, '%');
		fb_putc(b, conv);
	}
}

void con_printf(const char *fmt, ...)
{
	char msg[MSG_MAX];
	struct fmtbuf b = { msg, 0 };
	va_list ap;
	int longs;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%' || !fmt[1]) {
			fb_putc(&b, *fmt);
			continue;
		}
		for (longs = 0; fmt[1] == 'l'; fmt++)
			longs++;
		fb_arg(&b, *++fmt, longs, &ap);
	}
	va_end(ap);
	msg[b.len] = '\0';
	conout_str(msg);
	if (mirror_uart)
		con_serial_str(msg);
}

void con_wait_key(unsigned int seconds)
{
	EFI_EVENT events[2];
	EFI_EVENT timer;
	EFI_INPUT_KEY key;
	UINTN index;
	EFI_STATUS st;

	con_printf("lamina.efi: press a key (or wait %u s) to return to the firmware\n",
		   seconds);
	st = uefi_call_wrapper(BS->CreateEvent, 5, EVT_TIMER, 0, NULL, NULL,
			       &timer);
	if (EFI_ERROR(st)) {
		uefi_call_wrapper(BS->Stall, 1, (UINTN)seconds * 1000000);
		return;
	}
	uefi_call_wrapper(BS->SetTimer, 3, timer, TimerRelative,
			  (UINT64)seconds * 10000000); /* 100 ns units */
	events[0] = ST->ConIn ? ST->ConIn->WaitForKey : timer;
	events[1] = timer;
	uefi_call_wrapper(BS->WaitForEvent, 3, 2, events, &index);
	if (ST->ConIn)
		uefi_call_wrapper(ST->ConIn->ReadKeyStroke, 2, ST->ConIn, &key);
	uefi_call_wrapper(BS->CloseEvent, 1, timer);
}
