/*
 * dns_config.c -- table-driven reader of command-line flags and config files.
 */
#include "dns_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"

/* Largest config file read; a config is a handful of lines, this only bounds mistakes. */
#define CONFIG_FILE_MAX (16u << 20)
/* Longest config line. */
#define CONFIG_LINE_MAX 4096
/* How deep `config FILE` lines may nest. */
#define CONFIG_DEPTH_MAX 8

/* Something the config allocated: a string (data) or a vector's items (vec). */
struct dns_config_alloc {
	struct dns_config_alloc *next;
	struct dns_config_vec *vec; /* non-NULL: free vec->items at deinit */
	char data[];
};

/* Where a value came from, for error messages. */
struct origin {
	const char *file;   /* NULL: the command line */
	unsigned line;      /* line number in file */
	const char *flag;   /* command line: the flag as written, with dashes */
	uint8_t *file_seen; /* file: per option, already set in this file */
};

enum builtin { BI_NONE = 0, BI_HELP, BI_VERSION, BI_CONFIG };

static size_t opt_count(const struct dns_opt *opts)
{
	size_t n = 0;
	while (opts[n].name != NULL)
		n++;
	return n;
}

int dns_config_init(struct dns_config *cfg, const struct dns_opt *opts, const struct dns_mm *mm)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->opts = opts;
	cfg->mm = mm != NULL ? mm : dns_mm_std();
	size_t n = opt_count(opts);
	cfg->cli_set = mm_calloc(cfg->mm, n + 1, 1);
	if (cfg->cli_set == NULL)
		return -ENOMEM;
	return 0;
}

void dns_config_deinit(struct dns_config *cfg)
{
	struct dns_config_alloc *a = cfg->allocs, *next;
	for (; a != NULL; a = next) {
		next = a->next;
		if (a->vec != NULL) {
			mm_free(cfg->mm, a->vec->items);
			a->vec->items = NULL;
			a->vec->n = a->vec->cap = 0;
		}
		mm_free(cfg->mm, a);
	}
	cfg->allocs = NULL;
	mm_free(cfg->mm, cfg->cli_set);
	cfg->cli_set = NULL;
	mm_free(cfg->mm, (void *)cfg->args);
	cfg->args = NULL;
	cfg->nargs = 0;
}

static const char *config_strdup(struct dns_config *cfg, const char *s)
{
	size_t len = strlen(s);
	struct dns_config_alloc *a = mm_alloc(cfg->mm, sizeof(*a) + len + 1);
	if (a == NULL)
		return NULL;
	a->vec = NULL;
	memcpy(a->data, s, len + 1);
	a->next = cfg->allocs;
	cfg->allocs = a;
	return a->data;
}

/* Append one element of elsize bytes to vec, registering it for freeing. */
static int vec_push(struct dns_config *cfg, struct dns_config_vec *vec, const void *elem, size_t elsize)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 4;
		void *items = mm_alloc(cfg->mm, cap * elsize);
		if (items == NULL)
			return -ENOMEM;
		if (vec->items == NULL) {
			/* first growth: remember the vector so deinit frees it */
			struct dns_config_alloc *a = mm_alloc(cfg->mm, sizeof(*a));
			if (a == NULL) {
				mm_free(cfg->mm, items);
				return -ENOMEM;
			}
			a->vec = vec;
			a->next = cfg->allocs;
			cfg->allocs = a;
		} else {
			memcpy(items, vec->items, vec->n * elsize);
			mm_free(cfg->mm, vec->items);
		}
		vec->items = items;
		vec->cap = cap;
	}
	memcpy((char *)vec->items + vec->n * elsize, elem, elsize);
	vec->n++;
	return 0;
}

/* Format the message into cfg->err with the origin's prefix. Returns DNS_E_CONFIG. */
static int config_error(struct dns_config *cfg, const struct origin *o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int config_error(struct dns_config *cfg, const struct origin *o, const char *fmt, ...)
{
	char reason[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (o->file != NULL)
		snprintf(cfg->err, sizeof(cfg->err), "%s:%u: %s", o->file, o->line, reason);
	else
		snprintf(cfg->err, sizeof(cfg->err), "option %s: %s", o->flag, reason);
	return DNS_E_CONFIG;
}

int dns_uint_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (s == NULL || *s == '\0')
		return DNS_E_SYNTAX;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return DNS_E_SYNTAX;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int dns_size_parse(const char *s, uint64_t *out)
{
	char digits[32];
	size_t len, n;
	unsigned shift = 0;
	uint64_t v;
	int rc;

	if (s == NULL)
		return DNS_E_SYNTAX;
	len = strlen(s);
	n = len;
	if (n > 0) {
		switch (s[n - 1]) {
		case 'k': case 'K': shift = 10; n--; break;
		case 'm': case 'M': shift = 20; n--; break;
		case 'g': case 'G': shift = 30; n--; break;
		default: break;
		}
	}
	if (n == 0 || n >= sizeof(digits))
		return n == 0 ? DNS_E_SYNTAX : -ERANGE;
	memcpy(digits, s, n);
	digits[n] = '\0';
	rc = dns_uint_parse(digits, &v);
	if (rc < 0)
		return rc;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int dns_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *at, *h = s;
	size_t hlen;
	uint64_t port = default_port;

	if (s == NULL)
		return DNS_E_SYNTAX;
	at = strrchr(s, '@');
	hlen = at != NULL ? (size_t)(at - s) : strlen(s);
	if (at != NULL && dns_uint_parse(at + 1, &port) < 0)
		return DNS_E_SYNTAX;
	if (port > 65535)
		return DNS_E_SYNTAX;
	/* accept "[::1]" as well as "::1" */
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return DNS_E_SYNTAX;
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return DNS_E_SYNTAX;
}

char *dns_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	} else {
		snprintf(buf, size, "(family %d)", sa->sa_family);
		return buf;
	}
	snprintf(buf, size, "%s@%u", host, port);
	return buf;
}

int dns_cidr_parse(const char *s, struct dns_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t hlen;
	uint64_t len = 0;
	unsigned maxlen;

	if (s == NULL)
		return DNS_E_SYNTAX;
	slash = strchr(s, '/');
	hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return DNS_E_SYNTAX;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		maxlen = 128;
	} else {
		return DNS_E_SYNTAX;
	}
	len = maxlen;
	if (slash != NULL && (dns_uint_parse(slash + 1, &len) < 0 || len > maxlen)) {
		memset(out, 0, sizeof(*out));
		return DNS_E_SYNTAX;
	}
	out->len = (uint8_t)len;
	/* clear host bits so equal prefixes compare equal */
	for (unsigned bit = (unsigned)len; bit < 128; bit++)
		out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

bool dns_cidr_match(const struct dns_cidr *cidr, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;

	if (sa->sa_family == AF_INET) {
		if (cidr->family != AF_INET)
			return false;
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (cidr->family == AF_INET) {
			if (memcmp(a, mapped, sizeof(mapped)) != 0)
				return false;
			a += 12;
		}
	} else {
		return false;
	}
	unsigned full = cidr->len / 8, rest = cidr->len % 8;
	if (memcmp(a, cidr->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[full] & mask) == cidr->addr[full];
}

static const char *type_metavar(const struct dns_opt *o)
{
	if (o->metavar != NULL)
		return o->metavar;
	switch (o->type) {
	case DNS_OPT_UINT: return "N";
	case DNS_OPT_SIZE: return "SIZE";
	case DNS_OPT_ADDR: return "ADDR@PORT";
	case DNS_OPT_CIDR: return "CIDR";
	default: return "VALUE";
	}
}

static bool opt_takes_arg(const struct dns_opt *o)
{
	if (o->type == DNS_OPT_FLAG)
		return false;
	if (o->type == DNS_OPT_CALLBACK)
		return !o->cb_noarg;
	return true;
}

/* Find a table option by long name (len bytes of name): its index, or DNS_E_NOTFOUND. */
static int opt_find(const struct dns_config *cfg, const char *name, size_t len)
{
	for (int i = 0; cfg->opts[i].name != NULL; i++)
		if (strlen(cfg->opts[i].name) == len && memcmp(cfg->opts[i].name, name, len) == 0)
			return i;
	return DNS_E_NOTFOUND;
}

static enum builtin builtin_find(const char *name, size_t len)
{
	if (len == 4 && memcmp(name, "help", 4) == 0)
		return BI_HELP;
	if (len == 7 && memcmp(name, "version", 7) == 0)
		return BI_VERSION;
	if (len == 6 && memcmp(name, "config", 6) == 0)
		return BI_CONFIG;
	return BI_NONE;
}

/* "bad number 'x'" (with the option's name when it comes from a file). */
static int bad_value(struct dns_config *cfg, const struct dns_opt *opt, const struct origin *o,
		     const char *value)
{
	const char *what = opt->type == DNS_OPT_UINT ? "number"
			 : opt->type == DNS_OPT_SIZE ? "size"
			 : opt->type == DNS_OPT_ADDR ? "address" : "prefix";
	return config_error(cfg, o, "%s%sbad %s '%s'", o->file ? opt->name : "",
			    o->file ? ": " : "", what, value);
}

/* Store one value of size n at the option's target, or append it to its vector. */
static int store_value(struct dns_config *cfg, const struct dns_opt *opt, const void *v, size_t n)
{
	if (opt->flags & DNS_OPT_REPEAT)
		return vec_push(cfg, opt->target, v, n);
	memcpy(opt->target, v, n);
	return 0;
}

/* DNS_OPT_UINT and DNS_OPT_SIZE: a number in [min, max]. */
static int apply_number(struct dns_config *cfg, const struct dns_opt *opt, const char *value,
			const struct origin *o, bool store)
{
	uint64_t num = 0, lo = opt->min, hi = opt->max;
	if (hi == 0)
		hi = opt->type == DNS_OPT_UINT ? UINT_MAX : UINT64_MAX;
	if (opt->type == DNS_OPT_UINT && hi > UINT_MAX)
		hi = UINT_MAX;
	int rc = opt->type == DNS_OPT_UINT ? dns_uint_parse(value, &num) : dns_size_parse(value, &num);
	if (rc == DNS_E_SYNTAX)
		return bad_value(cfg, opt, o, value);
	if (rc < 0 || num < lo || num > hi)
		return config_error(cfg, o, "%s%s'%s' is out of range %llu..%llu",
				    o->file ? opt->name : "", o->file ? ": " : "", value,
				    (unsigned long long)lo, (unsigned long long)hi);
	if (!store)
		return 0;
	if (opt->type == DNS_OPT_UINT) {
		unsigned u = (unsigned)num;
		return store_value(cfg, opt, &u, sizeof(u));
	}
	return store_value(cfg, opt, &num, sizeof(num));
}

/*
 * Parse value for option idx and store it, unless store is false (a file value
 * shadowed by the command line: still checked, so mistakes are reported).
 */
static int opt_apply(struct dns_config *cfg, int idx, const char *value, const struct origin *o, bool store)
{
	const struct dns_opt *opt = &cfg->opts[idx];
	struct sockaddr_storage ss;
	struct dns_cidr cidr;
	const char *str;
	int rc;

	switch (opt->type) {
	case DNS_OPT_FLAG:
		if (store && !(opt->flags & DNS_OPT_REPEAT) && opt->target != NULL)
			*(bool *)opt->target = true;
		return 0;
	case DNS_OPT_CALLBACK: {
		char reason[256] = "bad value";
		if (!store)
			return 0;
		rc = opt->cb(opt->cb_ctx, value, reason, sizeof(reason));
		if (rc < 0)
			return config_error(cfg, o, "%s%s%s", o->file ? opt->name : "", o->file ? ": " : "", reason);
		return 0;
	}
	case DNS_OPT_STRING:
		if (!store)
			return 0;
		str = config_strdup(cfg, value);
		if (str == NULL)
			return -ENOMEM;
		return store_value(cfg, opt, &str, sizeof(str));
	case DNS_OPT_UINT:
	case DNS_OPT_SIZE:
		return apply_number(cfg, opt, value, o, store);
	case DNS_OPT_ADDR:
		if (dns_addr_parse(value, opt->default_port, &ss) < 0)
			return bad_value(cfg, opt, o, value);
		return store ? store_value(cfg, opt, &ss, sizeof(ss)) : 0;
	case DNS_OPT_CIDR:
		if (dns_cidr_parse(value, &cidr) < 0)
			return bad_value(cfg, opt, o, value);
		return store ? store_value(cfg, opt, &cidr, sizeof(cidr)) : 0;
	}
	return config_error(cfg, o, "option type %d not supported", (int)opt->type);
}

static int parse_text(struct dns_config *cfg, const char *name, const char *text, size_t len);

static int parse_file(struct dns_config *cfg, const char *path, const struct origin *from)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (cfg->depth >= CONFIG_DEPTH_MAX)
		return config_error(cfg, from, "config files nested too deep at '%s'", path);
	if (cfg->read == NULL) {
		snprintf(cfg->err, sizeof(cfg->err), "%s: config files cannot be read here", path);
		return DNS_E_UNSUPPORTED;
	}
	rc = cfg->read(cfg->read_ctx, path, CONFIG_FILE_MAX, cfg->mm, &buf, &len);
	if (rc == -EFBIG) {
		snprintf(cfg->err, sizeof(cfg->err), "%s: file too large", path);
		return DNS_E_CONFIG;
	}
	if (rc < 0) {
		snprintf(cfg->err, sizeof(cfg->err), "%s: %s", path, dns_strerror(rc));
		return rc;
	}
	cfg->depth++;
	rc = parse_text(cfg, path, buf, len);
	cfg->depth--;
	mm_free(cfg->mm, buf);
	return rc;
}

static int parse_line(struct dns_config *cfg, char *line, struct origin *o)
{
	char *p = line, *name, *value, *end;
	size_t nlen;
	int idx;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	name = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '=')
		p++;
	nlen = (size_t)(p - name);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '=') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	value = p;
	/* a comment starts at '#' at the start of the value or after blank space */
	for (char *q = value; *q != '\0'; q++) {
		if (*q == '#' && (q == value || q[-1] == ' ' || q[-1] == '\t')) {
			*q = '\0';
			break;
		}
	}
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	name[nlen] = '\0';
	bool has_value = *value != '\0';

	enum builtin bi = builtin_find(name, nlen);
	if (bi == BI_CONFIG) {
		if (!has_value)
			return config_error(cfg, o, "option '%s' needs an argument", name);
		return parse_file(cfg, value, o);
	}
	if (bi != BI_NONE)
		return config_error(cfg, o, "option '%s' is only for the command line", name);
	idx = opt_find(cfg, name, nlen);
	if (idx < 0)
		return config_error(cfg, o, "unknown option '%s'", name);
	const struct dns_opt *opt = &cfg->opts[idx];
	if (opt->flags & DNS_OPT_CLI_ONLY)
		return config_error(cfg, o, "option '%s' is only for the command line", name);
	if (opt_takes_arg(opt) && !has_value)
		return config_error(cfg, o, "option '%s' needs an argument", name);
	if (!opt_takes_arg(opt) && has_value)
		return config_error(cfg, o, "option '%s' takes no argument", name);
	if (!(opt->flags & DNS_OPT_REPEAT)) {
		if (o->file_seen[idx])
			return config_error(cfg, o, "duplicate option '%s'", name);
		o->file_seen[idx] = 1;
	}
	bool store = (opt->flags & DNS_OPT_REPEAT) || !cfg->cli_set[idx];
	return opt_apply(cfg, idx, has_value ? value : NULL, o, store);
}

static int parse_text(struct dns_config *cfg, const char *name, const char *text, size_t len)
{
	char line[CONFIG_LINE_MAX];
	struct origin o = { .file = name, .line = 0 };
	size_t pos = 0;
	int rc = 0;

	o.file_seen = mm_calloc(cfg->mm, opt_count(cfg->opts) + 1, 1);
	if (o.file_seen == NULL)
		return -ENOMEM;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t raw = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		size_t llen = raw;
		o.line++;
		if (llen > 0 && text[pos + llen - 1] == '\r')
			llen--;
		if (llen >= sizeof(line)) {
			rc = config_error(cfg, &o, "line too long");
			goto out;
		}
		memcpy(line, text + pos, llen);
		line[llen] = '\0';
		if (memchr(line, '\0', llen) != NULL) {
			rc = config_error(cfg, &o, "NUL byte in line");
			goto out;
		}
		rc = parse_line(cfg, line, &o);
		if (rc < 0)
			goto out;
		pos += raw + (nl != NULL ? 1 : 0);
	}
out:
	mm_free(cfg->mm, o.file_seen);
	return rc;
}

int dns_config_parse_text(struct dns_config *cfg, const char *name, const char *text, size_t len)
{
	cfg->err[0] = '\0';
	return parse_text(cfg, name, text, len);
}

int dns_config_parse_file(struct dns_config *cfg, const char *path)
{
	struct origin o = { .file = NULL, .flag = "--config" };
	cfg->err[0] = '\0';
	return parse_file(cfg, path, &o);
}

/* A command-line value waiting to be applied after the config files are read. */
struct pending {
	int idx;            /* option index */
	const char *value;  /* argument or NULL */
	const char *flag;   /* as written, for messages */
};

/* One command-line argument that starts with '-': which option, and its inline value. */
struct flag {
	const char *value;  /* after '=' or the letter; NULL if none */
	int idx;            /* table option, or -1 for a built-in */
	enum builtin bi;    /* BI_NONE for table options */
	bool inline_value;  /* value was part of the argument */
};

/* Identify argument a (o->flag is set to the flag as written, in flagbuf). */
static int flag_find(struct dns_config *cfg, const char *a, char *flagbuf, size_t size,
		     struct origin *o, struct flag *f)
{
	*f = (struct flag){ .idx = -1, .bi = BI_NONE };
	if (a[1] == '-') {
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		snprintf(flagbuf, size, "--%.*s", (int)nlen, name);
		o->flag = flagbuf;
		if (eq != NULL) {
			f->value = eq + 1;
			f->inline_value = true;
		}
		f->bi = builtin_find(name, nlen);
		if (f->bi == BI_NONE && (f->idx = opt_find(cfg, name, nlen)) < 0)
			return config_error(cfg, o, "unknown option");
		return 0;
	}
	snprintf(flagbuf, size, "-%c", a[1]);
	o->flag = flagbuf;
	for (int j = 0; cfg->opts[j].name != NULL; j++)
		if (cfg->opts[j].short_name == a[1])
			f->idx = j;
	if (f->idx < 0)
		return config_error(cfg, o, "unknown option");
	if (a[2] != '\0') {
		f->value = a + 2;
		f->inline_value = true;
	}
	return 0;
}

/*
 * Apply the command-line values kept while the config files were read: the command
 * line wins over the files whatever the order of --config.
 */
static int apply_pending(struct dns_config *cfg, const struct pending *pend, size_t npend)
{
	char flagbuf[128];
	for (size_t k = 0; k < npend; k++) {
		const struct dns_opt *opt = &cfg->opts[pend[k].idx];
		struct origin o = { .file = NULL };
		const char *a = pend[k].flag;
		if (a[1] == '-') {
			const char *eq = strchr(a, '=');
			snprintf(flagbuf, sizeof(flagbuf), "%.*s", (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		} else {
			snprintf(flagbuf, sizeof(flagbuf), "--%s", opt->name);
		}
		o.flag = flagbuf;
		cfg->cli_set[pend[k].idx] = 1;
		int rc = opt_apply(cfg, pend[k].idx, pend[k].value, &o, true);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Before a parse: the program name, and room for the positional arguments. */
static int argv_begin(struct dns_config *cfg, int argc, char **argv)
{
	cfg->err[0] = '\0';
	cfg->action = DNS_CONFIG_RUN;
	if (cfg->prog == NULL && argc > 0 && argv[0] != NULL) {
		const char *slash = strrchr(argv[0], '/');
		cfg->prog = slash != NULL ? slash + 1 : argv[0];
	}
	mm_free(cfg->mm, (void *)cfg->args);
	cfg->nargs = 0;
	cfg->args = mm_calloc(cfg->mm, (size_t)(argc > 0 ? argc : 1), sizeof(*cfg->args));
	return cfg->args != NULL ? 0 : -ENOMEM;
}

int dns_config_parse_argv(struct dns_config *cfg, int argc, char **argv)
{
	struct pending *pend = NULL;
	size_t npend = 0;
	bool endopts = false;
	char flagbuf[128];
	int rc = argv_begin(cfg, argc, argv);

	pend = mm_calloc(cfg->mm, (size_t)(argc > 0 ? argc : 1), sizeof(*pend));
	if (rc == 0 && pend == NULL)
		rc = -ENOMEM;
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		struct origin o = { .file = NULL };
		struct flag f;

		if (endopts || a[0] != '-' || a[1] == '\0') {
			cfg->args[cfg->nargs++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			endopts = true;
			continue;
		}
		if ((rc = flag_find(cfg, a, flagbuf, sizeof(flagbuf), &o, &f)) < 0)
			break;
		bool takes = f.bi == BI_CONFIG || (f.bi == BI_NONE && opt_takes_arg(&cfg->opts[f.idx]));
		if (!takes && f.inline_value) {
			rc = config_error(cfg, &o, "takes no argument");
			break;
		}
		if (takes && !f.inline_value) {
			if (i + 1 >= argc) {
				rc = config_error(cfg, &o, "missing argument");
				break;
			}
			f.value = argv[++i];
		}
		if (f.bi == BI_HELP || f.bi == BI_VERSION) {
			cfg->action = f.bi == BI_HELP ? DNS_CONFIG_HELP : DNS_CONFIG_VERSION;
			goto out;
		}
		if (f.bi == BI_CONFIG) {
			rc = parse_file(cfg, f.value, &o);
			continue;
		}
		pend[npend++] = (struct pending){ .idx = f.idx, .value = f.value, .flag = a };
	}
	if (rc == 0)
		rc = apply_pending(cfg, pend, npend);
out:
	mm_free(cfg->mm, pend);
	return rc;
}

/* snprintf-style appending that keeps counting past the end of buf. */
struct help_out {
	char *buf;
	size_t size;
	size_t len;
};

static void help_add(struct help_out *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void help_add(struct help_out *h, const char *fmt, ...)
{
	va_list ap;
	size_t room = h->len < h->size ? h->size - h->len : 0;
	va_start(ap, fmt);
	int n = vsnprintf(room ? h->buf + h->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		h->len += (size_t)n;
}

static void help_line(struct help_out *h, char shortname, const char *name, const char *metavar,
		      const char *text, const char *note)
{
	char left[96];
	if (shortname)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", shortname, name, metavar ? " " : "", metavar ? metavar : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
	if (strlen(left) < 30)
		help_add(h, "  %-30s %s%s\n", left, text ? text : "", note);
	else
		help_add(h, "  %s\n  %-30s %s%s\n", left, "", text ? text : "", note);
}

size_t dns_config_help(const struct dns_config *cfg, const char *usage, char *buf, size_t size)
{
	struct help_out h = { buf, size, 0 };
	if (size > 0)
		buf[0] = '\0';
	help_add(&h, "usage: %s %s\n\noptions (also config-file lines without the dashes):\n",
		 cfg->prog ? cfg->prog : "cairn", usage ? usage : "[options]");
	for (const struct dns_opt *o = cfg->opts; o->name != NULL; o++)
		help_line(&h, o->short_name, o->name, opt_takes_arg(o) ? type_metavar(o) : NULL, o->help,
			  (o->flags & DNS_OPT_REPEAT) ? " (repeatable)" : "");
	help_line(&h, 0, "config", "FILE", "read options from FILE, one per line, # comments", " (repeatable)");
	help_line(&h, 0, "help", NULL, "show this help and exit", "");
	help_line(&h, 0, "version", NULL, "show the version and exit", "");
	return h.len;
}
