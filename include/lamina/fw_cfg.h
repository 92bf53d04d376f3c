/*
 * QEMU's firmware configuration device, legacy I/O interface only
 * (kernel/vdev/fw_cfg.c): existing test kernels read the CPU count and RAM
 * size from it. A pure model; the caller routes the two ports to it and
 * holds the VM's device lock.
 *
 * The guest writes a 16-bit item key to the selector port, then reads the
 * item one byte at a time from the data port. Values are little-endian
 * except where QEMU says otherwise (the file directory).
 */
#ifndef LAMINA_FW_CFG_H
#define LAMINA_FW_CFG_H

#include <lamina/types.h>

#define FW_CFG_PORT_SEL 0x510  /* 16-bit write: item key */
#define FW_CFG_PORT_DATA 0x511 /* 8-bit read: next byte of the item */

/* Item keys, QEMU's numbering. */
#define FW_CFG_SIGNATURE 0x00 /* "QEMU" */
#define FW_CFG_ID 0x01        /* u32 feature bits */
#define FW_CFG_RAM_SIZE 0x03  /* u64 bytes */
#define FW_CFG_NB_CPUS 0x05   /* u16 */
#define FW_CFG_MAX_CPUS 0x0f  /* u16 */
#define FW_CFG_FILE_DIR 0x19  /* big-endian u32 count, then the entries */

#define FW_CFG_WRITE_CHANNEL 0x4000 /* key bit: data port writes allowed */
#define FW_CFG_ARCH_LOCAL 0x8000    /* key bit: architecture's own items */
#define FW_CFG_ENTRY_MASK 0x3fff

#define FW_CFG_VERSION 0x01 /* FW_CFG_ID bit: the traditional interface */

struct fw_cfg {
	u16 selector; /* as the guest wrote it */
	u32 offset;   /* next byte to read; stops at the item's end */
	u16 nr_cpus;
	u64 ram_bytes;
};

/* Reset state: the signature selected, as QEMU does. */
void fw_cfg_init(struct fw_cfg *f, u16 nr_cpus, u64 ram_bytes);

/* A selector port write; the read offset goes back to 0. */
void fw_cfg_select(struct fw_cfg *f, u16 selector);

/* A data port read: the next byte, or 0 past the end or for an unknown item. */
u8 fw_cfg_read(struct fw_cfg *f);

#endif
