/* Object caches over whole pages; see include/lamina/objcache.h. */
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/objcache.h>
#include <lamina/panic.h>

/* The last word of each page links the cache's pages. */
#define PAGE_LINK_OFFSET (PAGE_SIZE - sizeof(void *))

int objcache_init(struct objcache *c, const char *name, size_t size,
		  size_t align)
{
	memset(c, 0, sizeof(*c));
	if (!align || (align & (align - 1)) || align > PAGE_SIZE)
		return -HV_EINVAL;
	c->name = name;
	c->size = ALIGN_UP(MAX(size, sizeof(void *)), align);
	c->per_page = (unsigned int)(PAGE_LINK_OFFSET / c->size);
	return c->per_page ? 0 : -HV_EINVAL;
}

static bool grow(struct objcache *c)
{
	u8 *page = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_OBJCACHE);

	if (!page)
		return false;
	*(void **)(page + PAGE_LINK_OFFSET) = c->pages;
	c->pages = page;
	c->nr_pages++;
	for (unsigned int i = 0; i < c->per_page; i++) {
		void **obj = (void **)(page + i * c->size);

		*obj = c->free;
		c->free = obj;
	}
	return true;
}

void *objcache_alloc(struct objcache *c)
{
	void **obj = NULL;

	spin_lock(&c->lock);
	if (c->free || grow(c)) {
		obj = c->free;
		c->free = *obj;
		c->in_use++;
	}
	spin_unlock(&c->lock);
	if (obj)
		memset(obj, 0, c->size);
	return obj;
}

void objcache_free(struct objcache *c, void *obj)
{
	spin_lock(&c->lock);
	BUG_ON(!c->in_use);
	*(void **)obj = c->free;
	c->free = obj;
	c->in_use--;
	spin_unlock(&c->lock);
}

void objcache_destroy(struct objcache *c)
{
	BUG_ON(c->in_use);
	while (c->pages) {
		u8 *page = c->pages;

		c->pages = *(void **)(page + PAGE_LINK_OFFSET);
		page_free(page, 1, PG_OWNER_OBJCACHE);
		c->nr_pages--;
	}
	c->free = NULL;
}
