#ifndef LAMINA_UART_H
#define LAMINA_UART_H

#include <lamina/types.h>

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define UART_DEFAULT_BAUD 115200
/* Highest rate the 1.8432 MHz reference clock of a PC UART gives. */
#define UART_MAX_BAUD 115200
#define UART_MIN_BAUD 50

enum uart_space { UART_SPACE_IO, UART_SPACE_MMIO };

/* Where a 16550 is and how to reach it: register n at base + (n << shift). */
struct uart_desc {
	enum uart_space space;
	u64 base;	/* I/O port or physical address */
	u8 reg_shift;	/* 0 for I/O; 0 or 2 (8- or 32-bit stride) for MMIO */
	u8 reg_width;	/* bits per MMIO access: 8, 16 or 32; 8 for I/O */
	u32 baud;	/* 0: keep the divisor the firmware programmed */
};

void uart_init(u16 port, u32 baud);
/*
 * Is @d a UART we can drive, and does a 16550 answer there? 0, -HV_EINVAL
 * (port 0, unknown width or stride) or -HV_ENODEV. The caller has checked
 * that an MMIO base is mapped.
 */
int uart_probe(const struct uart_desc *d);
/* Make @d, which uart_probe() accepted, the console; -HV_EINVAL (and the
 * console stays) for one it would have refused. */
int uart_setup(const struct uart_desc *d);
/* "I/O 0x3f8" or "MMIO 0xfe032000 (32-bit registers)", plus the baud. */
void uart_describe(const struct uart_desc *d, char *buf, size_t len);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
/* A received byte, or -1 when none is waiting. */
int uart_getc(void);

/*
 * kernel/cmdline.c: parse a console= value ("com1", "com2",
 * "uart,io,PORT[,BAUD]", "uart,mmio,ADDR[,BAUD][,WIDTH]") into @d, touching
 * no hardware. 0, or -HV_EINVAL with @why saying what is wrong.
 */
int console_arg_parse(const char *s, struct uart_desc *d, const char **why);

/* drivers/console.c: the console named by console=, else by ACPI SPCR. */
void console_from_cmdline(void);
void console_from_spcr(void);

#endif
