/*
 * lamina.efi: a UEFI application that boots Lamina the way GRUB's
 * `multiboot2`/`module2` commands do, without GRUB. It reads
 * \lamina\boot.txt (manifest.h) from its own partition, places Lamina's
 * ELF at its physical addresses, loads the modules below 4 GiB, builds the
 * multiboot2 information and enters Lamina in 32-bit protected mode.
 *
 * Every failure is printed on ConOut and COM1, then we wait for a key (or
 * WAIT_SECONDS) and return to the firmware, which goes on to its next boot
 * option or its menu: a loader error must never look like a hang.
 */
#include <efi.h>
#include <efilib.h>

#include "console.h"
#include "kimage.h"
#include "loader.h"

#define MANIFEST_PATH "\\lamina\\boot.txt"
#define KERNEL_MAX (64u << 20) /* Lamina is well under 1 MiB */
#define WAIT_SECONDS 10

const char *status_name(EFI_STATUS st)
{
	switch (st) {
	case EFI_NOT_FOUND:
		return "not found";
	case EFI_OUT_OF_RESOURCES:
		return "out of resources";
	case EFI_INVALID_PARAMETER:
		return "invalid parameter";
	case EFI_DEVICE_ERROR:
		return "device error";
	case EFI_VOLUME_CORRUPTED:
		return "volume corrupted";
	case EFI_ACCESS_DENIED:
		return "access denied";
	case EFI_UNSUPPORTED:
		return "unsupported";
	case EFI_BUFFER_TOO_SMALL:
		return "buffer too small";
	default:
		return EFI_ERROR(st) ? "EFI error" : "success";
	}
}

EFI_STATUS alloc_pages(struct boot *b, EFI_ALLOCATE_TYPE how,
		       EFI_MEMORY_TYPE type, UINTN count,
		       EFI_PHYSICAL_ADDRESS *addr)
{
	EFI_STATUS st;

	if (b->nr_pages == sizeof(b->pages) / sizeof(b->pages[0]))
		return EFI_OUT_OF_RESOURCES;
	st = uefi_call_wrapper(BS->AllocatePages, 4, how, type, count, addr);
	if (EFI_ERROR(st))
		return st;
	b->pages[b->nr_pages++] = (struct pages){ *addr, count };
	return EFI_SUCCESS;
}

static void free_all_pages(struct boot *b)
{
	while (b->nr_pages) {
		struct pages *p = &b->pages[--b->nr_pages];

		uefi_call_wrapper(BS->FreePages, 2, p->addr, p->count);
	}
}

static EFI_STATUS read_manifest(struct boot *b)
{
	UINTN len;
	void *text;
	EFI_STATUS st;

	st = esp_read_pool(MANIFEST_PATH, EFIM_MAX_SIZE, &text, &len);
	if (EFI_ERROR(st))
		return st;
	if (efim_parse(text, len, &b->man)) {
		con_printf("lamina.efi: error: %s %s\n", MANIFEST_PATH,
			   b->man.error);
		st = EFI_LOAD_ERROR;
	}
	FreePool(text);
	return st;
}

/* Each PT_LOAD at its own physical address: Lamina is not relocatable. */
static EFI_STATUS place_segment(struct boot *b, const UINT8 *file,
				const struct kimg_seg *s)
{
	EFI_PHYSICAL_ADDRESS base = s->paddr & ~0xfffull;
	UINTN count = PAGES(s->paddr + s->memsz - base);
	EFI_STATUS st;

	st = alloc_pages(b, AllocateAddress, EfiLoaderData, count, &base);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: %s must be loaded at 0x%lx-0x%lx, but the firmware holds that memory or it is not RAM (%s)\n",
			   b->man.kernel, (UINT64)base,
			   (UINT64)(base + count * 4096 - 1), status_name(st));
		return st;
	}
	CopyMem((void *)(UINTN)s->paddr, (void *)(file + s->offset), s->filesz);
	SetMem((void *)(UINTN)(s->paddr + s->filesz), s->memsz - s->filesz, 0);
	return EFI_SUCCESS;
}

static EFI_STATUS load_kernel(struct boot *b)
{
	struct kimage k;
	UINTN len;
	void *file;
	EFI_STATUS st;
	unsigned int i;

	st = esp_read_pool(b->man.kernel, KERNEL_MAX, &file, &len);
	if (EFI_ERROR(st))
		return st;
	if (kimg_parse(file, len, &k)) {
		con_printf("lamina.efi: error: %s: %s\n", b->man.kernel, k.error);
		st = EFI_LOAD_ERROR;
		goto out;
	}
	for (i = 0; i < k.nr_segs; i++) {
		st = place_segment(b, file, &k.segs[i]);
		if (EFI_ERROR(st))
			goto out;
	}
	b->entry = k.entry;
out:
	FreePool(file);
	return st;
}

static EFI_STATUS load_modules(struct boot *b)
{
	EFI_STATUS st;
	unsigned int i;

	for (i = 0; i < b->man.nr_modules; i++) {
		struct mb2b_module *m = &b->mods[i];

		st = esp_read_low(b, b->man.modules[i].path, &m->start, &m->end);
		if (EFI_ERROR(st))
			return st;
		m->name = b->man.modules[i].name;
		con_printf("lamina.efi: module %s: %s, %u bytes at 0x%x\n",
			   m->name, b->man.modules[i].path, m->end - m->start,
			   m->start);
	}
	return EFI_SUCCESS;
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static struct boot b; /* 13 KiB: not on the firmware's stack */
	EFI_STATUS st;

	InitializeLib(image, systab);
	con_init();
	con_printf("lamina.efi: reading %s\n", MANIFEST_PATH);
	st = esp_open(image);
	if (EFI_ERROR(st))
		goto err_open;
	st = read_manifest(&b);
	if (EFI_ERROR(st))
		goto err_manifest;
	st = load_kernel(&b);
	if (EFI_ERROR(st))
		goto err_load;
	st = load_modules(&b);
	if (EFI_ERROR(st))
		goto err_load;
	esp_close();
	st = hand_off(image, &b); /* returns only when it failed */
	if (b.exit_failed)
		return st; /* no FreePages, no ConIn: see struct boot */
	goto err_handoff;

err_load:
err_manifest:
	esp_close();
err_handoff:
	free_all_pages(&b);
err_open:
	con_wait_key(WAIT_SECONDS);
	con_printf("lamina.efi: returning to the firmware\n");
	return st;
}
