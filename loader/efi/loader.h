/* What lamina.efi's parts share (files.c, handoff.c, main.c). */
#ifndef LAMINA_EFI_LOADER_H
#define LAMINA_EFI_LOADER_H

#include <efi.h>

#include "manifest.h"
#include "mb2info.h"

#define LOADER_NAME "lamina.efi 0.1"
#define BELOW_4G 0xffffffffull /* highest address multiboot2 allows */
#define PAGES(bytes) (((bytes) + 4095) / 4096)

/* A range of pages we allocated; freed in reverse order on failure. */
struct pages {
	EFI_PHYSICAL_ADDRESS addr;
	UINTN count;
};

struct boot {
	struct efi_manifest man;
	UINT32 entry;
	unsigned int nr_pages;
	struct pages pages[64]; /* kernel segments, modules, hand-off pages */
	struct mb2b_module mods[EFIM_MAX_MODULES];
	/* ExitBootServices was called and failed: boot services may be half
	 * gone, so nothing but COM1 and returning is safe any more. */
	BOOLEAN exit_failed;
};

/* files.c: the partition lamina.efi was loaded from. */
EFI_STATUS esp_open(EFI_HANDLE image);
void esp_close(void);
/* Read a whole file into pool memory (*buf, FreePool it) of *len bytes. */
EFI_STATUS esp_read_pool(const char *path, UINTN max, void **buf, UINTN *len);
/* Read a whole file into fresh pages below 4 GiB, recorded in @b. */
EFI_STATUS esp_read_low(struct boot *b, const char *path, UINT32 *start,
			UINT32 *end);

/* handoff.c: build the boot information, exit boot services, enter. */
EFI_STATUS hand_off(EFI_HANDLE image, struct boot *b);

/* main.c */
EFI_STATUS alloc_pages(struct boot *b, EFI_ALLOCATE_TYPE how,
		       EFI_MEMORY_TYPE type, UINTN count,
		       EFI_PHYSICAL_ADDRESS *addr);
const char *status_name(EFI_STATUS st);

#endif
