/* lamina.efi's messages: the firmware console and COM1, both. */
#ifndef LAMINA_EFI_CONSOLE_H
#define LAMINA_EFI_CONSOLE_H

#include <efi.h>

void con_init(void);
/* printf-like: %s %c %u %d %x and l forms (64-bit); '\n' becomes CR LF. */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only COM1: for after ExitBootServices, when ConOut is gone. */
void con_serial_str(const char *s);
/* Say "press a key", wait for one or @seconds, whichever comes first. */
void con_wait_key(unsigned int seconds);

#endif
