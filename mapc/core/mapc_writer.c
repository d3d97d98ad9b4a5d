/*
 * mapc_writer.c -- MaxMind DB writer (see mapc_writer.h). References are to the
 * MaxMind DB File Format Specification v2.0 ("the spec").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "mapc_writer.h"

/* Spec, "Data Section Separator": 16 zero bytes between tree and data. */
#define DATA_SEPARATOR 16
/* Spec, "Database Metadata": the marker the metadata map follows. */
static const uint8_t metadata_marker[] = "\xAB\xCD\xEFMaxMind.com";
#define METADATA_MARKER_LEN 14

/* Spec, "Output Data Types": the type numbers. */
enum mmdb_type {
	T_EXTENDED = 0,
	T_POINTER = 1,
	T_UTF8 = 2,
	T_DOUBLE = 3,
	T_UINT16 = 5,
	T_UINT32 = 6,
	T_MAP = 7,
	T_UINT64 = 9,
	T_ARRAY = 11,
};

/*
 * In-memory tree slots: 0 = no data, SLOT_DATA|i = the i-th distinct record
 * index (of the sorted items), anything else = a node index. Node 0 is the
 * root and is never a child, so 0 is free to mean "empty".
 */
#define SLOT_EMPTY 0u
#define SLOT_DATA 0x80000000u
#define MAX_NODES 0x7fff0000u

struct node {
	uint32_t c[2];
};

struct item {
	uint8_t addr[16];
	uint8_t len;
	uint32_t order; /* add order, for duplicate reports */
	struct mapc_record rec; /* strings owned */
};

/* A value to encode (the subset of the spec's types the writer needs). */
struct val {
	enum mmdb_type t;
	const char *s;         /* T_UTF8 */
	size_t slen;
	double d;              /* T_DOUBLE */
	uint64_t u;            /* T_UINT16/32/64 */
	const struct val *kids;/* T_MAP: 2n values (key, value); T_ARRAY: n values */
	size_t n;
};

/* One distinct encoded value: its plain bytes (in keys) and data offset. */
struct intern_entry {
	uint64_t hash;
	size_t koff;
	uint32_t klen;
	uint32_t doff;
	bool used;
};

struct mapc_writer {
	const struct dns_mm *mm;
	struct item *items;
	size_t nitems, capitems;
	/* build state */
	struct node *nodes;
	size_t nnodes, capnodes;
	struct mapc_buf data;    /* data section */
	struct mapc_buf scratch; /* plain encodings */
	struct mapc_buf keys;    /* interned plain encodings */
	struct intern_entry *tab;
	size_t tabcap, tabused;
};

/* ---- buffer ------------------------------------------------------------------ */

void mapc_buf_deinit(struct mapc_buf *b)
{
	if (b->data)
		mm_free(b->mm, b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_reserve(struct mapc_buf *b, size_t more)
{
	if (more > SIZE_MAX / 2 - b->len)
		return -E2BIG;
	if (b->len + more <= b->cap)
		return 0;
	/* doubling, but a first large reservation (the whole file) is exact */
	size_t ncap = b->cap * 2 > 256 ? b->cap * 2 : 256;
	if (ncap < b->len + more)
		ncap = b->len + more;
	uint8_t *p = mm_alloc(b->mm, ncap);
	if (!p)
		return -ENOMEM;
	if (b->len)
		memcpy(p, b->data, b->len);
	if (b->data)
		mm_free(b->mm, b->data);
	b->data = p;
	b->cap = ncap;
	return 0;
}

static int buf_put(struct mapc_buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* ---- writer object -------------------------------------------------------------- */

int mapc_writer_new(const struct dns_mm *mm, struct mapc_writer **out)
{
	struct mapc_writer *w = mm_calloc(mm, 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->mm = mm;
	w->data.mm = w->scratch.mm = w->keys.mm = mm;
	*out = w;
	return 0;
}

static void build_state_free(struct mapc_writer *w)
{
	if (w->nodes)
		mm_free(w->mm, w->nodes);
	w->nodes = NULL;
	w->nnodes = w->capnodes = 0;
	mapc_buf_deinit(&w->data);
	mapc_buf_deinit(&w->scratch);
	mapc_buf_deinit(&w->keys);
	if (w->tab)
		mm_free(w->mm, w->tab);
	w->tab = NULL;
	w->tabcap = w->tabused = 0;
}

void mapc_writer_free(struct mapc_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nitems; i++) {
		mm_free(w->mm, (void *)w->items[i].rec.city);
		mm_free(w->mm, (void *)w->items[i].rec.datacenter);
	}
	if (w->items)
		mm_free(w->mm, w->items);
	build_state_free(w);
	mm_free(w->mm, w);
}

static unsigned addr_bit(const uint8_t addr[16], unsigned i)
{
	return (addr[i >> 3] >> (7 - (i & 7))) & 1u;
}

int mapc_writer_add(struct mapc_writer *w, const uint8_t addr[16], unsigned len,
	const struct mapc_record *rec)
{
	if (len > 128)
		return -EINVAL;
	for (unsigned i = len; i < 128; i++)
		if (addr_bit(addr, i))
			return -EINVAL;
	if (rec->has_location && !(rec->lat >= -90 && rec->lat <= 90 &&
			rec->lon >= -180 && rec->lon <= 180))
		return -EINVAL;
	if (rec->country[0] && strnlen(rec->country, 3) != 2)
		return -EINVAL;
	if (rec->continent[0] && strnlen(rec->continent, 3) != 2)
		return -EINVAL;
	if (rec->city && strlen(rec->city) > MAPC_CITY_MAX)
		return -EINVAL;
	if (rec->datacenter && strlen(rec->datacenter) > MAPC_DC_MAX)
		return -EINVAL;
	if (w->nitems >= MAPC_NETS_MAX)
		return -E2BIG;
	if (w->nitems == w->capitems) {
		size_t ncap = w->capitems ? w->capitems * 2 : 64;
		struct item *p = mm_alloc(w->mm, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (w->nitems)
			memcpy(p, w->items, w->nitems * sizeof(*p));
		if (w->items)
			mm_free(w->mm, w->items);
		w->items = p;
		w->capitems = ncap;
	}
	struct item *it = &w->items[w->nitems];
	memset(it, 0, sizeof(*it));
	memcpy(it->addr, addr, 16);
	it->len = (uint8_t)len;
	it->order = (uint32_t)w->nitems;
	it->rec = *rec;
	it->rec.city = it->rec.datacenter = NULL;
	if (rec->city && !(it->rec.city = mm_strdup(w->mm, rec->city)))
		return -ENOMEM;
	if (rec->datacenter && !(it->rec.datacenter = mm_strdup(w->mm, rec->datacenter))) {
		mm_free(w->mm, (void *)it->rec.city);
		return -ENOMEM;
	}
	w->nitems++;
	return 0;
}

/* ---- data section encoding (spec, "Data Field Format") ------------------------ */

/*
 * Control byte and size: the type in the top 3 bits (0 and an extra byte of
 * type - 7 for the extended types), the size in the low 5 bits, with 29, 30,
 * 31 announcing 1, 2 or 3 more size bytes (spec, "Payload Size").
 */
static int put_ctrl(struct mapc_buf *b, enum mmdb_type t, size_t size)
{
	uint8_t hdr[5];
	size_t n = 0;
	uint8_t first = (uint8_t)((t > 7 ? 0 : t) << 5);
	uint8_t ext[3];
	size_t next = 0;

	if (size < 29) {
		first |= (uint8_t)size;
	} else if (size < 29 + 256) {
		first |= 29;
		ext[next++] = (uint8_t)(size - 29);
	} else if (size < 285 + 65536) {
		size_t v = size - 285;
		first |= 30;
		ext[next++] = (uint8_t)(v >> 8);
		ext[next++] = (uint8_t)v;
	} else if (size < 65821 + 16777216) {
		size_t v = size - 65821;
		first |= 31;
		ext[next++] = (uint8_t)(v >> 16);
		ext[next++] = (uint8_t)(v >> 8);
		ext[next++] = (uint8_t)v;
	} else {
		return -E2BIG;
	}
	hdr[n++] = first;
	if (t > 7)
		hdr[n++] = (uint8_t)(t - 7);
	memcpy(hdr + n, ext, next);
	n += next;
	return buf_put(b, hdr, n);
}

/* The scalar types: their whole encoding. */
static int put_scalar(struct mapc_buf *b, const struct val *v)
{
	int r;
	switch (v->t) {
	case T_UTF8:
		if ((r = put_ctrl(b, T_UTF8, v->slen)) < 0)
			return r;
		return buf_put(b, v->s, v->slen);
	case T_DOUBLE: {
		/* spec: 8 bytes, IEEE 754 binary64, big-endian */
		uint64_t bits;
		uint8_t be[8];
		memcpy(&bits, &v->d, 8);
		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)(bits >> (56 - 8 * i));
		if ((r = put_ctrl(b, T_DOUBLE, 8)) < 0)
			return r;
		return buf_put(b, be, 8);
	}
	case T_UINT16:
	case T_UINT32:
	case T_UINT64: {
		/* spec: big-endian with leading zero bytes left out */
		uint8_t be[8];
		size_t n = 0;
		for (int i = 7; i >= 0; i--) {
			uint8_t byte = (uint8_t)(v->u >> (8 * i));
			if (n || byte)
				be[n++] = byte;
		}
		if ((r = put_ctrl(b, v->t, n)) < 0)
			return r;
		return buf_put(b, be, n);
	}
	default:
		return -EINVAL;
	}
}

/* The encoding with no pointers: what identifies a value for deduplication. */
static int put_plain(struct mapc_buf *b, const struct val *v)
{
	int r;
	if (v->t == T_MAP || v->t == T_ARRAY) {
		size_t n = v->t == T_MAP ? 2 * v->n : v->n;
		if ((r = put_ctrl(b, v->t, v->n)) < 0)
			return r;
		for (size_t i = 0; i < n; i++)
			if ((r = put_plain(b, &v->kids[i])) < 0)
				return r;
		return 0;
	}
	return put_scalar(b, v);
}

/*
 * Spec, "Pointer - 1": 001SSVVV; SS picks 11, 19, 27 or 32 bits of offset
 * (the middle two biased by 2048 and 526336). Returns the length written.
 */
static size_t encode_pointer(uint32_t off, uint8_t out[5])
{
	if (off < 2048) {
		out[0] = (uint8_t)(0x20 | (off >> 8));
		out[1] = (uint8_t)off;
		return 2;
	}
	if (off < 2048 + 524288) {
		uint32_t v = off - 2048;
		out[0] = (uint8_t)(0x20 | 0x08 | (v >> 16));
		out[1] = (uint8_t)(v >> 8);
		out[2] = (uint8_t)v;
		return 3;
	}
	if (off < 526336 + 134217728) {
		uint32_t v = off - 526336;
		out[0] = (uint8_t)(0x20 | 0x10 | (v >> 24));
		out[1] = (uint8_t)(v >> 16);
		out[2] = (uint8_t)(v >> 8);
		out[3] = (uint8_t)v;
		return 4;
	}
	out[0] = 0x20 | 0x18;
	out[1] = (uint8_t)(off >> 24);
	out[2] = (uint8_t)(off >> 16);
	out[3] = (uint8_t)(off >> 8);
	out[4] = (uint8_t)off;
	return 5;
}

static int tab_grow(struct mapc_writer *w)
{
	size_t ncap = w->tabcap ? w->tabcap * 2 : 1024;
	struct intern_entry *t = mm_calloc(w->mm, ncap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < w->tabcap; i++) {
		if (!w->tab[i].used)
			continue;
		size_t j = w->tab[i].hash & (ncap - 1);
		while (t[j].used)
			j = (j + 1) & (ncap - 1);
		t[j] = w->tab[i];
	}
	if (w->tab)
		mm_free(w->mm, w->tab);
	w->tab = t;
	w->tabcap = ncap;
	return 0;
}

/* Find the plain bytes p/n: the entry, or the free slot where they go. */
static struct intern_entry *tab_find(struct mapc_writer *w, const uint8_t *p, size_t n,
	uint64_t h)
{
	size_t j = h & (w->tabcap - 1);
	while (w->tab[j].used) {
		struct intern_entry *e = &w->tab[j];
		if (e->hash == h && e->klen == n && memcmp(w->keys.data + e->koff, p, n) == 0)
			return e;
		j = (j + 1) & (w->tabcap - 1);
	}
	return &w->tab[j];
}

/*
 * Append v to the data section. A value already written in full is replaced
 * by a pointer to it when that is shorter (spec, "Pointer": a pointer may not
 * point to a pointer, and only full encodings are recorded as targets). The
 * offset of the value's full encoding is stored in *where when not NULL (for
 * records, which the tree must reach directly, never through a pointer).
 */
static int put_value(struct mapc_writer *w, const struct val *v, uint32_t *where)
{
	int r;
	w->scratch.len = 0;
	if ((r = put_plain(&w->scratch, v)) < 0)
		return r;
	if ((w->tabused + 1) * 2 > w->tabcap && (r = tab_grow(w)) < 0)
		return r;
	size_t n = w->scratch.len;
	uint64_t h = dns_fnv64(DNS_FNV64_INIT, w->scratch.data, n);
	struct intern_entry *e = tab_find(w, w->scratch.data, n, h);
	if (e->used) {
		uint8_t ptr[5];
		size_t plen = encode_pointer(e->doff, ptr);
		if (where) {
			*where = e->doff;
			return 0;
		}
		if (plen < n)
			return buf_put(&w->data, ptr, plen);
		return buf_put(&w->data, w->scratch.data, n);
	}
	if (w->data.len > UINT32_MAX - n)
		return -E2BIG;
	uint32_t off = (uint32_t)w->data.len;
	size_t koff = w->keys.len;
	if ((r = buf_put(&w->keys, w->scratch.data, n)) < 0)
		return r;
	e->used = true;
	e->hash = h;
	e->koff = koff;
	e->klen = (uint32_t)n;
	e->doff = off;
	w->tabused++;
	if (where)
		*where = off;
	if (v->t != T_MAP && v->t != T_ARRAY)
		return buf_put(&w->data, w->scratch.data, n);
	/* containers: written in full here, their members deduplicated in turn */
	size_t kids = v->t == T_MAP ? 2 * v->n : v->n;
	if ((r = put_ctrl(&w->data, v->t, v->n)) < 0)
		return r;
	for (size_t i = 0; i < kids; i++)
		if ((r = put_value(w, &v->kids[i], NULL)) < 0)
			return r;
	return 0;
}

static struct val vstr(const char *s)
{
	struct val v = {.t = T_UTF8, .s = s, .slen = strlen(s)};
	return v;
}

static struct val vmap(const struct val *kids, size_t n)
{
	struct val v = {.t = T_MAP, .kids = kids, .n = n};
	return v;
}

/*
 * One network's record in the GeoLite2-City schema (keys in sorted order):
 * city.names.en, continent.code, country.iso_code, datacenter,
 * location.latitude/longitude.
 */
static int put_record(struct mapc_writer *w, const struct mapc_record *rec,
	uint32_t *where)
{
	struct val names[2], city[2], cont[2], country[2], loc[4], top[10];
	size_t n = 0;

	if (rec->city) {
		names[0] = vstr("en");
		names[1] = vstr(rec->city);
		city[0] = vstr("names");
		city[1] = vmap(names, 1);
		top[n++] = vstr("city");
		top[n++] = vmap(city, 1);
	}
	if (rec->continent[0]) {
		cont[0] = vstr("code");
		cont[1] = vstr(rec->continent);
		top[n++] = vstr("continent");
		top[n++] = vmap(cont, 1);
	}
	if (rec->country[0]) {
		country[0] = vstr("iso_code");
		country[1] = vstr(rec->country);
		top[n++] = vstr("country");
		top[n++] = vmap(country, 1);
	}
	if (rec->datacenter) {
		top[n++] = vstr("datacenter");
		top[n++] = vstr(rec->datacenter);
	}
	if (rec->has_location) {
		loc[0] = vstr("latitude");
		loc[1] = (struct val){.t = T_DOUBLE, .d = rec->lat};
		loc[2] = vstr("longitude");
		loc[3] = (struct val){.t = T_DOUBLE, .d = rec->lon};
		top[n++] = vstr("location");
		top[n++] = vmap(loc, 2);
	}
	struct val v = vmap(top, n / 2);
	return put_value(w, &v, where);
}

/* ---- search tree (spec, "Search Tree Section") --------------------------------- */

static int node_new(struct mapc_writer *w, uint32_t fill, uint32_t *out)
{
	if (w->nnodes >= MAX_NODES)
		return -E2BIG;
	if (w->nnodes == w->capnodes) {
		size_t ncap = w->capnodes ? w->capnodes * 2 : 1024;
		struct node *p = mm_alloc(w->mm, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (w->nnodes)
			memcpy(p, w->nodes, w->nnodes * sizeof(*p));
		if (w->nodes)
			mm_free(w->mm, w->nodes);
		w->nodes = p;
		w->capnodes = ncap;
	}
	w->nodes[w->nnodes].c[0] = w->nodes[w->nnodes].c[1] = fill;
	*out = (uint32_t)w->nnodes++;
	return 0;
}

static bool slot_is_node(uint32_t s)
{
	return s != SLOT_EMPTY && !(s & SLOT_DATA);
}

/*
 * Point the subtree addr/len at value. Networks arrive widest first, so the
 * place is a leaf (empty, or a wider network's record): the leaves met on the
 * way down are split, both halves keeping the wider record, which is how the
 * most specific network wins and the rest of the wider one keeps its data.
 */
static int tree_set(struct mapc_writer *w, const uint8_t addr[16], unsigned len, uint32_t value)
{
	uint32_t n = 0;
	int r;
	if (len == 0) {
		w->nodes[0].c[0] = w->nodes[0].c[1] = value;
		return 0;
	}
	for (unsigned d = 0; d + 1 < len; d++) {
		unsigned b = addr_bit(addr, d);
		uint32_t s = w->nodes[n].c[b];
		if (!slot_is_node(s)) {
			uint32_t nn;
			if ((r = node_new(w, s, &nn)) < 0)
				return r;
			w->nodes[n].c[b] = nn;
			s = nn;
		}
		n = s;
	}
	w->nodes[n].c[addr_bit(addr, len - 1)] = value;
	return 0;
}

/*
 * The IPv4 alias: the record of ::ffff:0:0/96 takes the value of the record
 * of ::/96, so an IPv4-mapped address finds the IPv4 data. When a wider leaf
 * already gives both the same value, nothing is added.
 */
static int tree_alias_v4(struct mapc_writer *w)
{
	uint32_t n = 0, v4 = SLOT_EMPTY;
	int r;
	for (unsigned d = 0; d < 96; d++) {
		uint32_t s = w->nodes[n].c[0];
		if (d == 95 && (s & SLOT_DATA)) {
			/*
			 * IPv4 data exactly at ::/96 (0.0.0.0/0 alone): made a node
			 * whose halves hold it, so the alias is a pointer to a node,
			 * the form readers recognise (by node number) and do not
			 * report twice when they walk the tree.
			 */
			uint32_t nn;
			if ((r = node_new(w, s, &nn)) < 0)
				return r;
			w->nodes[n].c[0] = nn;
			s = nn;
		}
		if (d == 95 || !slot_is_node(s)) {
			v4 = s;
			break;
		}
		n = s;
	}
	n = 0;
	for (unsigned d = 0; d < 96; d++) {
		unsigned b = d >= 80;
		uint32_t s = w->nodes[n].c[b];
		if (d == 95) {
			w->nodes[n].c[b] = v4;
			return 0;
		}
		if (!slot_is_node(s)) {
			uint32_t nn;
			if (s == v4)
				return 0;
			if ((r = node_new(w, s, &nn)) < 0)
				return r;
			w->nodes[n].c[b] = nn;
			s = nn;
		}
		n = s;
	}
	return 0;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	int c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Spec: the record bytes of one node, big-endian, for 24, 28 or 32 bits. */
static void put_node(uint8_t *p, unsigned rs, uint32_t l, uint32_t r)
{
	switch (rs) {
	case 24:
		p[0] = (uint8_t)(l >> 16); p[1] = (uint8_t)(l >> 8); p[2] = (uint8_t)l;
		p[3] = (uint8_t)(r >> 16); p[4] = (uint8_t)(r >> 8); p[5] = (uint8_t)r;
		break;
	case 28:
		/* the middle byte's high nibble holds the left record's top 4 bits */
		p[0] = (uint8_t)(l >> 16); p[1] = (uint8_t)(l >> 8); p[2] = (uint8_t)l;
		p[3] = (uint8_t)(((l >> 20) & 0xf0) | ((r >> 24) & 0x0f));
		p[4] = (uint8_t)(r >> 16); p[5] = (uint8_t)(r >> 8); p[6] = (uint8_t)r;
		break;
	default:
		for (int i = 0; i < 4; i++) {
			p[i] = (uint8_t)(l >> (24 - 8 * i));
			p[4 + i] = (uint8_t)(r >> (24 - 8 * i));
		}
		break;
	}
}

/* Spec, "Database Metadata": the map after the marker (no pointers). */
static int put_metadata(struct mapc_buf *b, const struct mapc_meta *meta,
	uint32_t node_count, unsigned record_size)
{
	struct val desc[2] = {vstr("en"), vstr(meta->description ? meta->description : "")};
	struct val langs[1] = {vstr("en")};
	struct val m[18];
	size_t n = 0;
	m[n++] = vstr("binary_format_major_version");
	m[n++] = (struct val){.t = T_UINT16, .u = 2};
	m[n++] = vstr("binary_format_minor_version");
	m[n++] = (struct val){.t = T_UINT16, .u = 0};
	m[n++] = vstr("build_epoch");
	m[n++] = (struct val){.t = T_UINT64, .u = meta->build_epoch};
	m[n++] = vstr("database_type");
	m[n++] = vstr(meta->database_type ? meta->database_type : "cairn-Map");
	m[n++] = vstr("description");
	m[n++] = vmap(desc, 1);
	m[n++] = vstr("ip_version");
	m[n++] = (struct val){.t = T_UINT16, .u = 6};
	m[n++] = vstr("languages");
	m[n++] = (struct val){.t = T_ARRAY, .kids = langs, .n = 1};
	m[n++] = vstr("node_count");
	m[n++] = (struct val){.t = T_UINT32, .u = node_count};
	m[n++] = vstr("record_size");
	m[n++] = (struct val){.t = T_UINT16, .u = record_size};
	struct val top = vmap(m, n / 2);
	int r = buf_put(b, metadata_marker, METADATA_MARKER_LEN);
	return r < 0 ? r : put_plain(b, &top);
}

/* Sort the networks (widest first, then by address); DNS_E_EXISTS on two equal ones. */
static int sort_items(struct mapc_writer *w, struct mapc_stats *st)
{
	if (w->nitems)
		qsort(w->items, w->nitems, sizeof(*w->items), item_cmp);
	for (size_t i = 1; i < w->nitems; i++) {
		const struct item *a = &w->items[i - 1], *b = &w->items[i];
		if (a->len == b->len && memcmp(a->addr, b->addr, 16) == 0) {
			st->dup[0] = a->order;
			st->dup[1] = b->order;
			return DNS_E_EXISTS;
		}
	}
	return 0;
}

/*
 * The search tree in rs-bit records at p: empty slots as node_count ("no
 * data"), records as pointers past the separator to their data offsets.
 */
static void put_tree(const struct mapc_writer *w, const uint32_t *offs, unsigned rs, uint8_t *p)
{
	uint64_t node_count = w->nnodes;
	size_t node_bytes = rs / 4;
	for (size_t i = 0; i < w->nnodes; i++) {
		uint32_t v[2];
		for (int k = 0; k < 2; k++) {
			uint32_t s = w->nodes[i].c[k];
			if (s == SLOT_EMPTY)
				v[k] = (uint32_t)node_count;
			else if (s & SLOT_DATA)
				v[k] = (uint32_t)(node_count + DATA_SEPARATOR +
					offs[s & ~SLOT_DATA]);
			else
				v[k] = s;
		}
		put_node(p + i * node_bytes, rs, v[0], v[1]);
	}
}

int mapc_writer_build(struct mapc_writer *w, const struct mapc_meta *meta,
	struct mapc_buf *out, struct mapc_stats *st)
{
	struct mapc_stats dummy;
	uint32_t *offs = NULL, root;
	size_t distinct = 0;
	int r;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	st->networks = w->nitems;
	/* libmaxminddb refuses a file whose build_epoch is 0 ("invalid metadata") */
	if (meta->build_epoch == 0)
		return -EINVAL;
	if (meta->record_size != 0 && meta->record_size != 24 && meta->record_size != 28 &&
			meta->record_size != 32)
		return -EINVAL;
	build_state_free(w);
	if ((r = sort_items(w, st)) < 0)
		return r;
	/* the data section, in sorted-network order so the bytes do not depend
	 * on the order the networks were added in */
	if (w->nitems && !(offs = mm_alloc(w->mm, w->nitems * sizeof(*offs))))
		return -ENOMEM;
	for (size_t i = 0; i < w->nitems; i++) {
		size_t before = w->tabused;
		if ((r = put_record(w, &w->items[i].rec, &offs[i])) < 0)
			goto out;
		/* the top-level map is the first entry a new record adds */
		if (w->tabused != before)
			distinct++;
	}
	if ((r = node_new(w, SLOT_EMPTY, &root)) < 0)
		goto out;
	for (size_t i = 0; i < w->nitems; i++)
		if ((r = tree_set(w, w->items[i].addr, w->items[i].len,
				SLOT_DATA | (uint32_t)i)) < 0)
			goto out;
	if ((r = tree_alias_v4(w)) < 0)
		goto out;

	uint64_t node_count = w->nnodes;
	uint64_t maxval = node_count + DATA_SEPARATOR + w->data.len;
	unsigned rs = maxval < (1ull << 24) ? 24 : maxval < (1ull << 28) ? 28 :
		maxval <= UINT32_MAX ? 32 : 0;
	if (rs && meta->record_size)
		rs = meta->record_size >= rs ? meta->record_size : 0;
	if (!rs) {
		r = -E2BIG;
		goto out;
	}
	size_t node_bytes = rs / 4;
	size_t tree_bytes = node_bytes * w->nnodes;
	if ((r = buf_reserve(out, tree_bytes + DATA_SEPARATOR + w->data.len + 512)) < 0)
		goto out;
	put_tree(w, offs, rs, out->data + out->len);
	out->len += tree_bytes;
	memset(out->data + out->len, 0, DATA_SEPARATOR);
	out->len += DATA_SEPARATOR;
	if ((r = buf_put(out, w->data.data, w->data.len)) < 0)
		goto out;
	if ((r = put_metadata(out, meta, (uint32_t)node_count, rs)) < 0)
		goto out;
	st->records = distinct;
	st->node_count = (uint32_t)node_count;
	st->record_size = rs;
	st->tree_bytes = tree_bytes;
	st->data_bytes = w->data.len;
	st->total_bytes = out->len;
	r = 0;
out:
	if (offs)
		mm_free(w->mm, offs);
	build_state_free(w);
	return r;
}
