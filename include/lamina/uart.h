#ifndef LAMINA_UART_H
#define LAMINA_UART_H

#include <lamina/types.h>

#define COM1_PORT 0x3f8

void uart_init(u16 port, u32 baud);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
/* A received byte, or -1 when none is waiting. */
int uart_getc(void);

#endif
