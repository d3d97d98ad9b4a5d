/* dns_mem.c -- the standard allocator and the bump arena. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_mem.h"

static void *std_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void std_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct dns_mm mm_std = {std_alloc, std_free, NULL};

const struct dns_mm *dns_mm_std(void)
{
	return &mm_std;
}

void *mm_calloc(const struct dns_mm *mm, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = mm_alloc(mm, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *mm_strdup(const struct dns_mm *mm, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = mm_alloc(mm, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

struct dns_arena_block {
	struct dns_arena_block *next;
	size_t size;  /* usable bytes in data */
	size_t used;
	_Alignas(8) unsigned char data[];
};

void dns_arena_init(struct dns_arena *a, const struct dns_mm *mm, size_t block_size)
{
	a->mm = mm;
	a->head = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
	a->used = 0;
}

void *dns_arena_alloc(struct dns_arena *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	struct dns_arena_block *b = a->head;
	if (!b || b->size - b->used < size) {
		size_t bs = size > a->block_size ? size : a->block_size;
		b = mm_alloc(a->mm, sizeof(*b) + bs);
		if (!b)
			return NULL;
		b->size = bs;
		b->used = 0;
		if (a->head && size > a->block_size) {
			/* An oversized block goes behind the current one so its space is kept. */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	a->used += size;
	return p;
}

void *dns_arena_memdup(struct dns_arena *a, const void *p, size_t size)
{
	void *q = dns_arena_alloc(a, size ? size : 1);
	if (q && size)
		memcpy(q, p, size);
	return q;
}

void dns_arena_deinit(struct dns_arena *a)
{
	struct dns_arena_block *b = a->head;
	while (b) {
		struct dns_arena_block *next = b->next;
		mm_free(a->mm, b);
		b = next;
	}
	a->head = NULL;
	a->used = 0;
}
