/*
 * dns_config.h -- table-driven reader of command-line flags and config files.
 *
 * Every option of a cairn program is a long flag (`--listen 127.0.0.1@53` or
 * `--listen=127.0.0.1@53`), and a config file named with `--config FILE` holds the
 * same options one per line without the dashes (`listen 127.0.0.1@53`, `name=value`
 * also accepted), `#` starting a comment (dnsmasq's convention). A program declares
 * its options in a table of struct dns_opt ending with an entry whose name is NULL;
 * each entry either stores into a typed target or calls a callback.
 *
 * Precedence: config files are read when `--config` is met on the command line,
 * before the remaining flags are applied, so a command-line value replaces a
 * single-valued option from a file, and repeatable options accumulate (file values
 * first, in order). Naming a single-valued option twice in one file is an error;
 * on the command line, the last one wins.
 *
 * Errors are returned as DNS_E_CONFIG (or -errno for an unreadable file) with a
 * message in cfg->err: "FILE:LINE: reason" for files, "option --x: reason" for argv.
 *
 * Glossary: "ADDR@PORT" is an IPv4 or IPv6 address with an optional port after '@'
 * (as in Unbound and Knot); a "size" is a number with an optional K, M or G suffix
 * (powers of 1024); a "CIDR" is an address with an optional /prefix length.
 *
 * Pure: no I/O other than reading the config files named.
 */
#ifndef CAIRN_DNS_CONFIG_H
#define CAIRN_DNS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns_mem.h"

/* What an option stores. */
enum dns_opt_type {
	DNS_OPT_FLAG = 1, /* no argument; target is bool *, set to true */
	DNS_OPT_STRING,   /* target is const char ** (storage owned by the config) */
	DNS_OPT_UINT,     /* decimal in [min, max]; target is unsigned * */
	DNS_OPT_SIZE,     /* size with K/M/G suffix in [min, max]; target is uint64_t * */
	DNS_OPT_ADDR,     /* ADDR@PORT, default_port if no port; target is struct sockaddr_storage * */
	DNS_OPT_CIDR,     /* ADDR[/LEN]; target is struct dns_cidr * */
	DNS_OPT_CALLBACK, /* calls cb; takes an argument unless cb_noarg is set */
};

/* Option flags (struct dns_opt.flags). */
#define DNS_OPT_REPEAT 0x1u   /* may be given several times; target is a struct dns_config_vec * */
#define DNS_OPT_CLI_ONLY 0x2u /* not accepted in a config file (e.g. --help-like actions) */

/*
 * A callback option: value is the argument (NULL for cb_noarg options). Return 0,
 * or a negative code and write a short reason (no file/option prefix) into err.
 */
typedef int (*dns_opt_cb)(void *ctx, const char *value, char *err, size_t errlen);

/* One declared option. Fields after `help` apply to some types only. */
struct dns_opt {
	const char *name;         /* long name without dashes; NULL ends the table */
	char short_name;          /* optional one-letter alias ("-o"), command line only; 0 if none */
	enum dns_opt_type type;   /* what the value is */
	unsigned flags;           /* DNS_OPT_REPEAT, DNS_OPT_CLI_ONLY */
	const char *metavar;      /* argument name in --help ("ADDR@PORT"); NULL picks one from type */
	const char *help;         /* one-line description for --help */
	void *target;             /* where the value goes (see enum dns_opt_type) */
	uint64_t min, max;        /* DNS_OPT_UINT / DNS_OPT_SIZE range; max 0 means no upper limit */
	uint16_t default_port;    /* DNS_OPT_ADDR: port used when the value has no '@PORT' */
	dns_opt_cb cb;            /* DNS_OPT_CALLBACK: called with each value */
	void *cb_ctx;             /* DNS_OPT_CALLBACK: first argument of cb */
	bool cb_noarg;            /* DNS_OPT_CALLBACK: the option takes no argument */
};

/*
 * The values of a repeatable option, in the order given. Elements are of the
 * option's target type: const char * for STRING, unsigned for UINT, uint64_t for
 * SIZE, struct sockaddr_storage for ADDR, struct dns_cidr for CIDR. Zero-initialise
 * it; the config frees it in dns_config_deinit().
 */
struct dns_config_vec {
	void *items; /* array of n elements */
	size_t n;    /* number of elements */
	size_t cap;  /* allocated elements */
};

/* An address prefix; host bits beyond len are cleared by dns_cidr_parse(). */
struct dns_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; first 4 bytes for AF_INET */
	uint8_t len;      /* prefix length: 0..32 or 0..128 */
};

/* What the program should do after parsing the command line. */
enum dns_config_action {
	DNS_CONFIG_RUN = 0,   /* carry on with the options read */
	DNS_CONFIG_HELP,      /* --help was given: print dns_config_help() and exit 0 */
	DNS_CONFIG_VERSION,   /* --version was given: print "prog version" and exit 0 */
};

struct dns_config_alloc;

/*
 * Reads a whole config file for dns_config_parse_file() and `config FILE` lines (the
 * core does no file I/O: the shell supplies this, see common/io/dns_config_io.h).
 * Returns 0 with *text allocated from mm, NUL-terminated, and *len; or a negative
 * errno, -EFBIG when the file is larger than max bytes.
 */
typedef int (*dns_config_read_fn)(void *ctx, const char *path, size_t max, const struct dns_mm *mm,
				  char **text, size_t *len);

/* A parser and the storage of the values it read. */
struct dns_config {
	const struct dns_opt *opts;   /* the program's table, NULL-name terminated */
	const struct dns_mm *mm;      /* allocator for strings and vectors */
	const char *prog;             /* program name for --help (argv[0] basename if NULL) */
	enum dns_config_action action;/* set by dns_config_parse_argv() */
	const char **args;            /* positional arguments (not options), in order */
	size_t nargs;                 /* number of positional arguments */
	char err[512];                /* message of the last error */
	dns_config_read_fn read;      /* reads config files; NULL: files are refused */
	void *read_ctx;               /* first argument of read */
	/* private */
	uint8_t *cli_set;             /* per option: set on the command line */
	struct dns_config_alloc *allocs; /* strings and vectors to free */
	unsigned depth;               /* config file include depth */
};

/* Prepare cfg for the table opts; mm may be NULL (malloc). Returns 0 or -ENOMEM. */
int dns_config_init(struct dns_config *cfg, const struct dns_opt *opts, const struct dns_mm *mm);
/* Free every string, vector and positional array the config allocated. */
void dns_config_deinit(struct dns_config *cfg);

/*
 * Parse the command line (argv[0] is the program name). `--help` and `--version`
 * are built in and set cfg->action; `--config FILE` reads FILE at that point
 * (and may be repeated); `--` ends the options; other non-option words are
 * collected in cfg->args. Returns 0, DNS_E_CONFIG with cfg->err set, or -ENOMEM.
 */
int dns_config_parse_argv(struct dns_config *cfg, int argc, char **argv);
/*
 * Read one config file as if named with --config. Values apply as file values
 * (overridden by options already set on the command line). A `config FILE` line
 * includes another file (up to 8 deep; a relative FILE is taken from the working
 * directory, like every path on the command line). Returns 0, DNS_E_CONFIG, -errno.
 */
int dns_config_parse_file(struct dns_config *cfg, const char *path);
/* Parse config-file text; `name` stands for the file name in messages. Same returns. */
int dns_config_parse_text(struct dns_config *cfg, const char *name, const char *text, size_t len);

/*
 * Write the generated --help text ("usage" line, then one line per option) into
 * buf (always NUL-terminated when size > 0). Returns the length the full text
 * needs, like snprintf. usage is the synopsis after the program name (may be NULL).
 */
size_t dns_config_help(const struct dns_config *cfg, const char *usage, char *buf, size_t size);

/* The i-th element of a repeatable option's vector, typed: DNS_CONFIG_VEC_AT(v, struct dns_cidr, 0). */
#define DNS_CONFIG_VEC_AT(vec, type, i) (((type *)(vec)->items)[(i)])

/*
 * Parse "ADDR@PORT", "ADDR" (default_port), IPv4 or IPv6, into *out (sockaddr_in
 * or sockaddr_in6, the rest zeroed). Returns 0 or DNS_E_SYNTAX.
 */
int dns_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out);
/* Format an address as "ADDR@PORT" into buf (at least 64 bytes). Returns buf. */
char *dns_addr_format(const struct sockaddr *sa, char *buf, size_t size);
/* Parse "ADDR/LEN" or "ADDR" (full-length prefix); host bits are cleared. 0 or DNS_E_SYNTAX. */
int dns_cidr_parse(const char *s, struct dns_cidr *out);
/*
 * Does the address sa (AF_INET or AF_INET6) fall inside the prefix? An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) matches IPv4 prefixes as its IPv4 address.
 */
bool dns_cidr_match(const struct dns_cidr *cidr, const struct sockaddr *sa);
/* Parse "64", "64K", "64M", "1G" (powers of 1024, case-insensitive). 0, DNS_E_SYNTAX or -ERANGE. */
int dns_size_parse(const char *s, uint64_t *out);
/* Parse a decimal unsigned number (no sign, no suffix). 0, DNS_E_SYNTAX or -ERANGE. */
int dns_uint_parse(const char *s, uint64_t *out);

#endif
