/*
 * Reading boot.txt, Lamina's ELF and the modules from the EFI system
 * partition lamina.efi itself came from (its loaded image's device).
 */
#include <efi.h>
#include <efilib.h>

#include "console.h"
#include "loader.h"

static EFI_FILE_HANDLE root;

EFI_STATUS esp_open(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *li;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image,
			       &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: no loaded image protocol (%s)\n",
			   status_name(st));
		return st;
	}
	root = LibOpenRoot(li->DeviceHandle);
	if (!root) {
		con_printf("lamina.efi: error: cannot open the partition lamina.efi was loaded from as a file system\n");
		return EFI_NOT_FOUND;
	}
	return EFI_SUCCESS;
}

void esp_close(void)
{
	if (root)
		uefi_call_wrapper(root->Close, 1, root);
	root = NULL;
}

static EFI_STATUS open_file(const char *path, EFI_FILE_HANDLE *fh, UINT64 *size)
{
	CHAR16 wpath[EFIM_PATH_MAX];
	EFI_FILE_INFO *info;
	EFI_STATUS st;
	UINTN i;

	for (i = 0; path[i] && i + 1 < EFIM_PATH_MAX; i++)
		wpath[i] = (CHAR16)(UINT8)path[i];
	wpath[i] = 0;
	st = uefi_call_wrapper(root->Open, 5, root, fh, wpath,
			       EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: cannot open %s: %s\n", path,
			   status_name(st));
		return st;
	}
	info = LibFileInfo(*fh);
	if (!info) {
		con_printf("lamina.efi: error: cannot read the size of %s\n", path);
		uefi_call_wrapper((*fh)->Close, 1, *fh);
		return EFI_DEVICE_ERROR;
	}
	*size = info->FileSize;
	FreePool(info);
	return EFI_SUCCESS;
}

/* Read() may return fewer bytes than asked; loop until all have come. */
static EFI_STATUS read_all(EFI_FILE_HANDLE fh, const char *path, void *buf,
			   UINT64 size)
{
	UINT8 *p = buf;
	EFI_STATUS st;
	UINTN n;

	while (size) {
		n = size;
		st = uefi_call_wrapper(fh->Read, 3, fh, &n, p);
		if (EFI_ERROR(st) || !n) {
			con_printf("lamina.efi: error: reading %s failed: %s\n",
				   path, EFI_ERROR(st) ? status_name(st) :
				   "file shorter than its size");
			return EFI_ERROR(st) ? st : EFI_END_OF_FILE;
		}
		p += n;
		size -= n;
	}
	return EFI_SUCCESS;
}

EFI_STATUS esp_read_pool(const char *path, UINTN max, void **buf, UINTN *len)
{
	EFI_FILE_HANDLE fh;
	EFI_STATUS st;
	UINT64 size;

	st = open_file(path, &fh, &size);
	if (EFI_ERROR(st))
		return st;
	if (size > max) {
		con_printf("lamina.efi: error: %s is %lu bytes, more than the %lu allowed\n",
			   path, size, (UINT64)max);
		st = EFI_BAD_BUFFER_SIZE;
		goto err_close;
	}
	*buf = AllocatePool(size ? size : 1);
	if (!*buf) {
		con_printf("lamina.efi: error: no memory for %s (%lu bytes)\n",
			   path, size);
		st = EFI_OUT_OF_RESOURCES;
		goto err_close;
	}
	st = read_all(fh, path, *buf, size);
	if (EFI_ERROR(st))
		goto err_free;
	*len = size;
	uefi_call_wrapper(fh->Close, 1, fh);
	return EFI_SUCCESS;

err_free:
	FreePool(*buf);
	*buf = NULL;
err_close:
	uefi_call_wrapper(fh->Close, 1, fh);
	return st;
}

EFI_STATUS esp_read_low(struct boot *b, const char *path, UINT32 *start,
			UINT32 *end)
{
	EFI_PHYSICAL_ADDRESS addr = BELOW_4G;
	EFI_FILE_HANDLE fh;
	EFI_STATUS st;
	UINT64 size;

	st = open_file(path, &fh, &size);
	if (EFI_ERROR(st))
		return st;
	if (size >= BELOW_4G / 2) {
		con_printf("lamina.efi: error: %s is too large for a module (%lu bytes)\n",
			   path, size);
		st = EFI_BAD_BUFFER_SIZE;
		goto err_close;
	}
	/* Page aligned, as Lamina's module alignment header tag asks. */
	st = alloc_pages(b, AllocateMaxAddress, EfiLoaderData,
			 PAGES(size ? size : 1), &addr);
	if (EFI_ERROR(st)) {
		con_printf("lamina.efi: error: no memory below 4 GiB for %s (%lu bytes): %s\n",
			   path, size, status_name(st));
		goto err_close;
	}
	st = read_all(fh, path, (void *)(UINTN)addr, size);
	if (EFI_ERROR(st))
		goto err_close; /* the pages are freed with all the others */
	*start = (UINT32)addr;
	*end = (UINT32)(addr + size);
	uefi_call_wrapper(fh->Close, 1, fh);
	return EFI_SUCCESS;

err_close:
	uefi_call_wrapper(fh->Close, 1, fh);
	return st;
}
