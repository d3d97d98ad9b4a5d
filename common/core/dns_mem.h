/*
 * dns_mem.h -- the allocator handed to core code, and a bump arena.
 *
 * Cores never call malloc directly: they allocate through a struct dns_mm so unit
 * tests can route every allocation to cmocka's checked allocator and fail on leaks.
 * dns_mm_std() is the plain malloc/free one the programs use.
 */
#ifndef CAIRN_DNS_MEM_H
#define CAIRN_DNS_MEM_H

#include <stddef.h>

struct dns_mm {
	void *(*alloc)(void *ctx, size_t size);   /* NULL on failure */
	void (*free)(void *ctx, void *ptr);       /* ptr may be NULL */
	void *ctx;
};

/* The process allocator (malloc/free). */
const struct dns_mm *dns_mm_std(void);

static inline void *mm_alloc(const struct dns_mm *mm, size_t size) { return mm->alloc(mm->ctx, size); }
static inline void mm_free(const struct dns_mm *mm, void *p) { mm->free(mm->ctx, p); }
void *mm_calloc(const struct dns_mm *mm, size_t n, size_t size);
char *mm_strdup(const struct dns_mm *mm, const char *s);

/*
 * A bump arena: blocks from the parent allocator, freed all at once. Used for data
 * built once and dropped together (a zone snapshot, a request's scratch space).
 */
struct dns_arena_block;
struct dns_arena {
	const struct dns_mm *mm;       /* parent allocator */
	struct dns_arena_block *head;  /* current block (list of all blocks) */
	size_t block_size;             /* default block size */
	size_t used;                   /* total bytes handed out */
};

void dns_arena_init(struct dns_arena *a, const struct dns_mm *mm, size_t block_size);
/* Aligned to 8 bytes; NULL on failure. */
void *dns_arena_alloc(struct dns_arena *a, size_t size);
void *dns_arena_memdup(struct dns_arena *a, const void *p, size_t size);
void dns_arena_deinit(struct dns_arena *a);

#endif
