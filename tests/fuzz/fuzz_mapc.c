/*
 * fuzz_mapc.c -- libFuzzer target for cairn-mapc's reader and writer
 * (mapc_compile_json). Inputs are networks JSON. When an input compiles,
 * the database is written to a memfd and read back with libmaxminddb: it must
 * open, every node of the tree must read and every data record decode, and
 * each network's own address must be found at a depth no shallower than the
 * network (the most specific network wins).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <maxminddb.h>

#include "dns_mem.h"
#include "mapc_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(MMDB_s *db)
{
	for (uint32_t i = 0; i < db->metadata.node_count; i++) {
		MMDB_search_node_s n;
		if (MMDB_read_node(db, i, &n) != MMDB_SUCCESS)
			abort();
		for (int k = 0; k < 2; k++) {
			uint8_t type = k ? n.right_record_type : n.left_record_type;
			MMDB_entry_s e = k ? n.right_record_entry : n.left_record_entry;
			if (type == MMDB_RECORD_TYPE_INVALID)
				abort();
			if (type == MMDB_RECORD_TYPE_DATA) {
				MMDB_entry_data_list_s *list = NULL;
				if (MMDB_get_entry_data_list(&e, &list) != MMDB_SUCCESS || !list ||
						list->entry_data.type != MMDB_DATA_TYPE_MAP)
					abort();
				MMDB_free_entry_data_list(list);
			}
		}
	}
}

/* Every network's base address is found, at least as deep as the network. */
static void check_networks(MMDB_s *db, const char *text, size_t size)
{
	json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *nets = root ? json_object_get(root, "networks") : NULL;
	const char *key;
	json_t *v;
	if (!nets)
		abort(); /* it compiled, so it parses */
	json_object_foreach(nets, key, v) {
		char ip[64];
		uint8_t a[16];
		const char *slash = strchr(key, '/');
		size_t al = slash ? (size_t)(slash - key) : strlen(key);
		if (al >= sizeof(ip))
			abort();
		memcpy(ip, key, al);
		ip[al] = '\0';
		bool v4 = inet_pton(AF_INET, ip, a) == 1;
		unsigned len = slash ? (unsigned)atoi(slash + 1) : (v4 ? 32 : 128);
		if (v4)
			len += 96;
		int gai = 0, me = 0;
		MMDB_lookup_result_s r = MMDB_lookup_string(db, ip, &gai, &me);
		if (gai || me || !r.found_entry || r.netmask < len)
			abort();
	}
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapc_buf out = {.mm = dns_mm_std()};
	struct mapc_stats st;
	char err[1024], path[64];

	if (size > 64 * 1024)
		return 0;
	/* the three record layouts, picked by the input's length */
	static const unsigned sizes[] = {0, 28, 32};
	int r = mapc_compile_json(dns_mm_std(), (const char *)data, size, "fuzz.json",
		1700000000, sizes[size % 3], &out, &st, err, sizeof(err));
	if (r < 0) {
		if (!err[0])
			abort(); /* every failure explains itself */
		mapc_buf_deinit(&out);
		return 0;
	}
	if (out.len != st.total_bytes || (size % 3 && st.record_size != sizes[size % 3]))
		abort();
	int fd = memfd_create("fuzz_mapc", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (write(fd, out.data, out.len) != (ssize_t)out.len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	MMDB_s db;
	if (MMDB_open(path, MMDB_MODE_MMAP, &db) != MMDB_SUCCESS)
		abort();
	if (db.metadata.node_count != st.node_count || db.metadata.record_size != st.record_size)
		abort();
	check_tree(&db);
	check_networks(&db, (const char *)data, size);
	MMDB_close(&db);
	close(fd);
	mapc_buf_deinit(&out);
	return 0;
}
