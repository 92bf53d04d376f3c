/*
 * Second-level page tables (Intel EPT, AMD NPT): one builder, two entry
 * encoders. Pure (mm/stage2.c): table pages come from the caller's env, so
 * the unit tests run it on the host and check it with their own walker.
 * Lamina runs identity mapped, so in the hypervisor phys == virt.
 */
#ifndef LAMINA_STAGE2_H
#define LAMINA_STAGE2_H

#include <lamina/types.h>

enum s2_format { S2_EPT, S2_NPT };

/* Permissions of a mapping. */
#define S2_R (1u << 0)
#define S2_W (1u << 1)
#define S2_X (1u << 2)
#define S2_RWX (S2_R | S2_W | S2_X)

enum s2_memtype { S2_WB, S2_UC };

#define S2_SIZE_4K (1ull << 12)
#define S2_SIZE_2M (1ull << 21)
#define S2_SIZE_1G (1ull << 30)
#define S2_GPA_LIMIT (1ull << 48) /* 4-level tables */

struct s2_env {
	void *(*alloc_page)(void *ctx);          /* zeroed, 4 KiB aligned; NULL if none */
	void (*free_page)(void *ctx, void *page);
	void *ctx;
};

struct s2_table {
	enum s2_format format;
	bool allow_2m, allow_1g; /* what the CPU's caps allow */
	u64 *root;               /* the PML4 */
	u64 nr_table_pages;      /* root included */
	struct s2_env env;
};

/* 0, or -HV_ENOMEM when the root page cannot be had. */
int s2_init(struct s2_table *t, enum s2_format format, bool allow_2m,
	    bool allow_1g, const struct s2_env *env);

/*
 * Map [gpa, gpa+size) to [hpa, hpa+size) with @perm and @mt, replacing
 * whatever was there. Uses the largest page (1G, 2M, 4K) that the caps,
 * the alignment of both addresses and the remaining size allow; splits a
 * large page that the range covers only in part. All sizes and addresses
 * 4 KiB aligned. 0, -HV_EINVAL, or -HV_ENOMEM (the part already mapped
 * stays mapped: the caller unmaps the whole range).
 */
int s2_map(struct s2_table *t, u64 gpa, u64 hpa, u64 size, unsigned int perm,
	   enum s2_memtype mt);

/* Remove every mapping in the range (splitting large pages at its ends);
 * frees table pages left empty. */
int s2_unmap(struct s2_table *t, u64 gpa, u64 size);

/*
 * Set the permissions of the mapped pages in the range to @perm (keeping
 * address and memory type), splitting large pages at its ends; unmapped
 * holes are skipped. Used to write-protect for dirty logging.
 */
int s2_protect(struct s2_table *t, u64 gpa, u64 size, unsigned int perm);

struct s2_walk {
	unsigned int levels;   /* entries read: 1 (PML4) to 4 (PT) */
	u64 entry[4];          /* raw entries, PML4 first */
	u64 table[4];          /* address of the table each was read from */
	bool mapped;
	u64 hpa;               /* of @gpa itself, when mapped */
	u64 page_size;
	unsigned int perm;
	enum s2_memtype mt;
};

/* Walk the tables for @gpa as the CPU would. */
void s2_walk(const struct s2_table *t, u64 gpa, struct s2_walk *w);

/* Free every table page (the backing memory is the caller's). */
void s2_destroy(struct s2_table *t);

/* The value the CPU loads: an EPTP (WB, 4-level walk) or an nCR3. */
u64 s2_root_pointer(const struct s2_table *t);

/* Pages of each size currently mapped (for `slots` and the bench). */
struct s2_stats {
	u64 pages_4k, pages_2m, pages_1g;
};
void s2_count(const struct s2_table *t, struct s2_stats *st);

#endif
