/*
 * boot.txt, the list of files lamina.efi loads from the EFI system partition.
 * One directive a line:
 *
 *     kernel  PATH          Lamina's ELF (exactly one)
 *     cmdline TEXT          Lamina's command line (at most one; may be empty)
 *     module  PATH NAME     a multiboot2 module named NAME, as GRUB's
 *                           `module2 PATH NAME` names it (at most 16)
 *     # ...                 a comment; blank lines are ignored
 *
 * PATH is absolute on the partition ("\lamina\lamina.elf"; '/' works too).
 * The parser is pure C with no firmware calls: it runs in lamina.efi, in the
 * host unit tests and under libFuzzer.
 */
#ifndef LAMINA_EFI_MANIFEST_H
#define LAMINA_EFI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#define EFIM_PATH_MAX 128    /* bytes, with the NUL */
#define EFIM_NAME_MAX 64     /* Lamina keeps 63 bytes of a module's name */
#define EFIM_CMDLINE_MAX 512 /* Lamina's BOOTINFO_CMDLINE_MAX */
#define EFIM_MAX_MODULES 16  /* Lamina's BOOTINFO_MAX_MODULES */
#define EFIM_MAX_SIZE 65536  /* a larger boot.txt is not one we wrote */
#define EFIM_ERR_MAX 128

struct efim_module {
	char path[EFIM_PATH_MAX]; /* with '\' separators */
	char name[EFIM_NAME_MAX];
};

struct efi_manifest {
	char kernel[EFIM_PATH_MAX]; /* with '\' separators */
	char cmdline[EFIM_CMDLINE_MAX];
	unsigned int nr_modules;
	struct efim_module modules[EFIM_MAX_MODULES];
	unsigned int err_line; /* 0: the error is about the whole file */
	char error[EFIM_ERR_MAX];
};

/*
 * Parse @len bytes of @text (not NUL-terminated) into @m. Returns 0, or
 * -HV_EINVAL with m->error set to "line N: what is wrong" (or a message
 * about the whole file) and nothing else in @m to be trusted.
 */
int efim_parse(const char *text, size_t len, struct efi_manifest *m);

#endif
