/*
 * The last steps: gather what the boot information needs from the
 * firmware (ACPI RSDP, GOP), take the final memory map, exit boot services
 * and jump through the trampoline (trampoline.S) into Lamina.
 */
#include <efi.h>
#include <efilib.h>

#include "console.h"
#include "loader.h"

#define EXIT_TRIES 8       /* a map key changes when the firmware's timers run */
#define MAP_SLACK 32       /* descriptors the map may grow by before we exit */
#define GDT_OFF 0x800      /* GDT, then GDTR, in the trampoline's page */
#define GDTR_OFF 0x880
#define RSDP_V1_LEN 20
#define RSDP_V2_MAX 64     /* more than any ACPI revision uses */

extern const UINT8 tramp_start[], tramp_end[];
typedef void __attribute__((sysv_abi, noreturn)) (*tramp_fn)(UINT64 entry,
		UINT64 mbi, UINT64 gdtr);

static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;
static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;

static void find_rsdp(struct mb2b_input *in)
{
	UINT8 *p;
	UINT32 len;

	if (!EFI_ERROR(LibGetSystemConfigurationTable(&acpi10_guid, (void **)&p)))
		in->rsdp_v1 = p;
	if (EFI_ERROR(LibGetSystemConfigurationTable(&acpi20_guid, (void **)&p)))
		return;
	/* The 2.0 RSDP's length field; a bad one gets the 2.0 size. */
	len = p[20] | p[21] << 8 | p[22] << 16 | (UINT32)p[23] << 24;
	if (len < 36 || len > RSDP_V2_MAX)
		len = 36;
	in->rsdp_v2 = p;
	in->rsdp_v2_len = len;
	if (!in->rsdp_v1)
		in->rsdp_v1 = p; /* its first 20 bytes are a 1.0 RSDP */
}

static void mask_field(UINT32 mask, UINT8 *pos, UINT8 *size)
{
	*pos = *size = 0;
	if (!mask)
		return;
	while (!(mask & 1)) {
		mask >>= 1;
		(*pos)++;
	}
	while (mask & 1) {
		mask >>= 1;
		(*size)++;
	}
}

/* The GOP's current mode as a multiboot2 framebuffer; false if none. */
static BOOLEAN find_fb(struct mb2b_fb *fb)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *mi;

	if (EFI_ERROR(LibLocateProtocol(&GraphicsOutputProtocol, (void **)&gop)) ||
	    !gop->Mode || !gop->Mode->Info)
		return FALSE;
	mi = gop->Mode->Info;
	fb->addr = gop->Mode->FrameBufferBase;
	fb->width = mi->HorizontalResolution;
	fb->height = mi->VerticalResolution;
	fb->pitch = mi->PixelsPerScanLine * 4;
	fb->bpp = 32;
	switch (mi->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		mask_field(0xff, &fb->red_pos, &fb->red_size);
		mask_field(0xff00, &fb->green_pos, &fb->green_size);
		mask_field(0xff0000, &fb->blue_pos, &fb->blue_size);
		return TRUE;
	case PixelBlueGreenRedReserved8BitPerColor:
		mask_field(0xff0000, &fb->red_pos, &fb->red_size);
		mask_field(0xff00, &fb->green_pos, &fb->green_size);
		mask_field(0xff, &fb->blue_pos, &fb->blue_size);
		return TRUE;
	case PixelBitMask:
		mask_field(mi->PixelInformation.RedMask, &fb->red_pos, &fb->red_size);
		mask_field(mi->PixelInformation.GreenMask, &fb->green_pos,
			   &fb->green_size);
		mask_field(mi->PixelInformation.BlueMask, &fb->blue_pos,
			   &fb->blue_size);
		return TRUE;
	default: /* BltOnly: no linear framebuffer to hand over */
		return FALSE;
	}
}

/* The trampoline and its GDT, on a page below 4 GiB that stays mapped 1:1. */
static EFI_STATUS place_trampoline(struct boot *b, UINT64 *code, UINT64 *gdtr)
{
	static const UINT64 gdt[3] = {
		0,
		0x00cf9a000000ffffull, /* 0x08: 32-bit code, flat */
		0x00cf92000000ffffull, /* 0x10: data, flat */
	};
	EFI_PHYSICAL_ADDRESS page = BELOW_4G;
	UINT8 *p;
	EFI_STATUS st;

	if ((UINTN)(tramp_end - tramp_start) > GDT_OFF)
		return EFI_BAD_BUFFER_SIZE;
	st = alloc_pages(b, AllocateMaxAddress, EfiLoaderCode, 1, &page);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: no page below 4 GiB for the hand-off code: %s\n",
			   status_name(st));
		return st;
	}
	p = (UINT8 *)(UINTN)page;
	CopyMem(p, (void *)tramp_start, tramp_end - tramp_start);
	CopyMem(p + GDT_OFF, (void *)gdt, sizeof(gdt));
	*(UINT16 *)(p + GDTR_OFF) = sizeof(gdt) - 1;
	*(UINT64 *)(p + GDTR_OFF + 2) = page + GDT_OFF;
	*code = page;
	*gdtr = page + GDTR_OFF;
	return EFI_SUCCESS;
}

/* The map's buffer, with room for what our own allocations add to it. */
static EFI_STATUS map_buffer(void **map, UINTN *cap)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL, &key, &dsize,
			       &dver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	*cap = size + MAP_SLACK * dsize;
	*map = AllocatePool(*cap);
	return *map ? EFI_SUCCESS : EFI_OUT_OF_RESOURCES;
}

static EFI_STATUS exit_and_enter(EFI_HANDLE image, struct boot *b,
				 struct mb2b_input *in, void *map, UINTN cap,
				 void *mbi, UINTN mbi_cap, UINT64 tramp,
				 UINT64 gdtr)
{
	UINTN size, key, dsize, len;
	UINT32 dver;
	EFI_STATUS st = EFI_SUCCESS;
	int i;

	for (i = 0; i < EXIT_TRIES; i++) {
		size = cap;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key,
				       &dsize, &dver);
		if (EFI_ERROR(st))
			break;
		in->efi_map = map;
		in->efi_map_size = size;
		in->efi_desc_size = dsize;
		in->efi_desc_version = dver;
		len = mb2b_build(mbi, mbi_cap, in);
		if (!len) {
			st = EFI_BUFFER_TOO_SMALL;
			break;
		}
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (!EFI_ERROR(st))
			((tramp_fn)(UINTN)tramp)(b->entry, (UINT64)(UINTN)mbi, gdtr);
		b->exit_failed = TRUE;
		if (st != EFI_INVALID_PARAMETER) /* not just a stale map key */
			break;
	}
	if (!b->exit_failed) {
		con_printf("lamina.efi: error: cannot build the boot information: %s\n",
			   status_name(st));
		return st;
	}
	con_serial_str("lamina.efi: error: ExitBootServices did not succeed; cannot start Lamina\n");
	return EFI_ERROR(st) ? st : EFI_ABORTED;
}

EFI_STATUS hand_off(EFI_HANDLE image, struct boot *b)
{
	struct mb2b_input in = { 0 };
	struct mb2b_fb fb;
	EFI_PHYSICAL_ADDRESS mbi = BELOW_4G;
	UINT64 tramp, gdtr;
	UINTN cap, mbi_cap;
	void *map = NULL;
	EFI_STATUS st;

	in.cmdline = b->man.cmdline;
	in.loader = LOADER_NAME;
	in.nr_modules = b->man.nr_modules;
	in.modules = b->mods;
	in.efi_systab = (UINT64)(UINTN)ST;
	find_rsdp(&in);
	if (find_fb(&fb))
		in.fb = &fb;
	st = place_trampoline(b, &tramp, &gdtr);
	if (EFI_ERROR(st))
		return st;
	st = map_buffer(&map, &cap);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: cannot size the memory map: %s\n",
			   status_name(st));
		return st;
	}
	in.efi_map_size = cap;
	in.efi_desc_size = 48; /* sizing only: the real one comes with the map */
	mbi_cap = mb2b_size(&in) + cap; /* descriptors may be smaller than 48 */
	st = alloc_pages(b, AllocateMaxAddress, EfiLoaderData, PAGES(mbi_cap),
			 &mbi);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: no memory below 4 GiB for the boot information: %s\n",
			   status_name(st));
		goto err_map;
	}
	con_printf("lamina.efi: entering Lamina at 0x%x, boot information at 0x%lx, %u modules%s\n",
		   b->entry, (UINT64)mbi, b->man.nr_modules,
		   in.fb ? ", framebuffer" : "");
	st = exit_and_enter(image, b, &in, map, cap, (void *)(UINTN)mbi,
			    mbi_cap, tramp, gdtr);
err_map:
	FreePool(map);
	return st;
}
