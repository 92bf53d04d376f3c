/*
 * Object caches: fixed-size objects carved from pages (the role of KVM's
 * kmem_cache for struct kvm_vcpu). Pages come from the page allocator on
 * demand and go back when the cache is destroyed.
 */
#ifndef LAMINA_OBJCACHE_H
#define LAMINA_OBJCACHE_H

#include <lamina/spinlock.h>

struct objcache {
	const char *name;
	size_t size;       /* object size, rounded up to the alignment */
	unsigned int per_page;
	void *free;        /* free objects, each holding the next pointer */
	void *pages;       /* the cache's pages, linked through their last word */
	u64 nr_pages;
	u64 in_use;
	spinlock_t lock;
};

/* 0, or -HV_EINVAL when @size/@align cannot be served from a page. */
int objcache_init(struct objcache *c, const char *name, size_t size,
		  size_t align);
void *objcache_alloc(struct objcache *c); /* zeroed, or NULL */
void objcache_free(struct objcache *c, void *obj);
/* Free every page; BUG if objects are still in use. */
void objcache_destroy(struct objcache *c);

#endif
