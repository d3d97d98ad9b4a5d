/*
 * auth_zone_text.c -- RFC 1035 master files: the text is read through the
 * caller's struct auth_zone_reader (the core opens no file), directives are
 * handled here, records parsed by ldns and added to a zone builder; and
 * `--check-zone`. See auth_zone.h.
 */
#include "auth_zone.h"
#include "auth_zone_build_impl.h"
#include "auth_zone_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "dns_err.h"
#include "dns_name.h"

#define INCLUDE_DEPTH_MAX 8

/* Per-file loader state. */
struct loadctx {
	struct auth_zone_builder *b;
	const struct auth_zone_reader *rd; /* reads $INCLUDE files; NULL: none */
	const char *fname;      /* file name for messages */
	const char *text;       /* the whole file */
	size_t len;
	int depth;              /* $INCLUDE nesting */
	uint32_t default_ttl;   /* $TTL, 0 = none yet (ldns then uses 3600) */
	ldns_rdf *origin;       /* current $ORIGIN (owned) */
	size_t line_pos;        /* counted lines up to this offset ... */
	unsigned line;          /* ... this is the line number at line_pos */
};

static int load_text(struct auth_zone_builder *b, const struct auth_zone_reader *rd,
	const char *fname, const char *text, size_t len, const ldns_rdf *origin,
	uint32_t ttl, int depth);

/* Line number of offset pos (pos only grows between calls). */
static unsigned line_at(struct loadctx *lc, size_t pos)
{
	for (; lc->line_pos < pos && lc->line_pos < lc->len; lc->line_pos++)
		if (lc->text[lc->line_pos] == '\n')
			lc->line++;
	return lc->line;
}

/* Offset of the first character that is neither blank nor comment from pos. */
static size_t skip_blank(const struct loadctx *lc, size_t pos)
{
	while (pos < lc->len) {
		char c = lc->text[pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			pos++;
		} else if (c == ';') {
			while (pos < lc->len && lc->text[pos] != '\n')
				pos++;
		} else {
			break;
		}
	}
	return pos;
}

/* Split the directive line at pos into whitespace-separated words (quotes
 * allowed for a file name); stops at ';' or end of line. Returns the count
 * and the offset after the line. */
static int directive_words(const struct loadctx *lc, size_t pos, char words[3][1024],
	size_t *end)
{
	int nw = 0;
	while (pos < lc->len && lc->text[pos] != '\n') {
		char c = lc->text[pos];
		if (c == ' ' || c == '\t' || c == '\r') {
			pos++;
			continue;
		}
		if (c == ';') {
			while (pos < lc->len && lc->text[pos] != '\n')
				pos++;
			break;
		}
		size_t w = 0;
		bool quoted = c == '"';
		if (quoted)
			pos++;
		while (pos < lc->len && lc->text[pos] != '\n') {
			c = lc->text[pos];
			if (quoted ? c == '"' : (c == ' ' || c == '\t' || c == '\r' || c == ';'))
				break;
			if (nw < 3 && w + 1 < 1024)
				words[nw][w++] = c;
			pos++;
		}
		if (quoted && pos < lc->len && lc->text[pos] == '"')
			pos++;
		if (nw < 3)
			words[nw][w] = 0;
		nw++;
	}
	/* always past the line, whatever it held */
	*end = pos < lc->len ? pos + 1 : pos;
	return nw > 3 ? -1 : nw;
}

/* A name from a directive: relative names are relative to the current origin. */
static int directive_name(struct loadctx *lc, const char *word, ldns_rdf **out)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t wl;
	int rc;
	if (strcmp(word, "@") == 0) {
		*out = ldns_rdf_clone(lc->origin);
		return *out ? 0 : -ENOMEM;
	}
	rc = dns_name_from_str(word, ldns_rdf_data(lc->origin), wire, &wl);
	if (rc < 0)
		return rc;
	*out = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wl, wire);
	return *out ? 0 : -ENOMEM;
}

static int do_include(struct loadctx *lc, unsigned line, const char *file,
	const char *origin_word)
{
	char path[4096];
	char *text = NULL;
	size_t len;
	ldns_rdf *org = NULL;
	int rc;

	if (lc->depth + 1 >= INCLUDE_DEPTH_MAX) {
		auth_zone_builder_err(lc->b, lc->fname, line, "$INCLUDE nested too deeply");
		return DNS_E_ZONE;
	}
	/* Relative to the including file's directory. */
	const char *slash = strrchr(lc->fname, '/');
	if (file[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - lc->fname),
			lc->fname, file);
	if (origin_word && origin_word[0]) {
		rc = directive_name(lc, origin_word, &org);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			auth_zone_builder_err(lc->b, lc->fname, line, "bad origin '%s' in $INCLUDE",
				origin_word);
			return DNS_E_ZONE;
		}
	}
	rc = lc->rd ? lc->rd->read(lc->rd->ctx, path, &text, &len) : -ENOTSUP;
	if (rc < 0) {
		auth_zone_builder_err(lc->b, lc->fname, line, "cannot read $INCLUDE file %s: %s",
			path, strerror(-rc));
		ldns_rdf_deep_free(org);
		return rc == -ENOMEM ? rc : DNS_E_ZONE;
	}
	/* RFC 1035 5.1: the origin given applies to the included file only. */
	rc = load_text(lc->b, lc->rd, path, text, len, org ? org : lc->origin,
		lc->default_ttl, lc->depth + 1);
	lc->rd->release(lc->rd->ctx, text, len);
	ldns_rdf_deep_free(org);
	return rc;
}

static int add_ldns_rr(struct loadctx *lc, const ldns_rr *rr, unsigned line)
{
	uint8_t rdata[65535];
	size_t rl = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		size_t fl = ldns_rdf_size(f);
		if (rl + fl > sizeof(rdata)) {
			auth_zone_builder_err(lc->b, lc->fname, line, "RDATA longer than 65535 octets");
			return DNS_E_ZONE;
		}
		memcpy(rdata + rl, ldns_rdf_data(f), fl);
		rl += fl;
	}
	const ldns_rdf *o = ldns_rr_owner(rr);
	return auth_zone_builder_add_rr(lc->b, ldns_rdf_data(o), ldns_rr_get_type(rr),
		ldns_rr_get_class(rr), ldns_rr_ttl(rr), rdata, (uint16_t)rl, lc->fname, line);
}

/*
 * The directive whose '$' is at start; the stream is moved past its line.
 * Mistakes in it are listed in the builder and the load goes on. Returns 0,
 * -ENOMEM or -EIO.
 */
static int do_directive(struct loadctx *lc, FILE *fp, size_t start, unsigned line)
{
	struct auth_zone_builder *b = lc->b;
	char w[3][1024];
	size_t end;
	int nw = directive_words(lc, start, w, &end);
	if (fseek(fp, (long)end, SEEK_SET) != 0)
		return -EIO;
	if (nw < 0) {
		auth_zone_builder_err(b, lc->fname, line, "too many words in directive");
	} else if (strcasecmp(w[0], "$ORIGIN") == 0 && nw == 2) {
		ldns_rdf *no = NULL;
		int r = directive_name(lc, w[1], &no);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			auth_zone_builder_err(b, lc->fname, line, "bad $ORIGIN name '%s'", w[1]);
		} else {
			ldns_rdf_deep_free(lc->origin);
			lc->origin = no;
		}
	} else if (strcasecmp(w[0], "$TTL") == 0 && nw == 2) {
		const char *endp = NULL;
		uint32_t t = ldns_str2period(w[1], &endp);
		if (!endp || *endp)
			auth_zone_builder_err(b, lc->fname, line, "bad $TTL value '%s'", w[1]);
		else
			lc->default_ttl = t;
	} else if (strcasecmp(w[0], "$INCLUDE") == 0 && (nw == 2 || nw == 3)) {
		int r = do_include(lc, line, w[1], nw == 3 ? w[2] : NULL);
		if (r == -ENOMEM)
			return r;
	} else {
		auth_zone_builder_err(b, lc->fname, line, "unknown or malformed directive %s", w[0]);
	}
	return 0;
}

/*
 * The record whose line begins at ls (line: the line of its first significant
 * character), parsed by ldns from the stream; *prev is the previous owner,
 * ldns's. Returns 0 to go on, 1 when the text is done (or ldns made no
 * progress: listed as an error), -ENOMEM or -EIO.
 */
static int do_record(struct loadctx *lc, FILE *fp, size_t ls, unsigned line,
	ldns_rdf **prev)
{
	long p0 = (long)ls;
	if (fseek(fp, p0, SEEK_SET) != 0)
		return -EIO;
	ldns_rr *rr = NULL;
	uint32_t t = lc->default_ttl;
	int dummy = 0;
	ldns_rdf *org = lc->origin;
	ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &t, &org, prev, &dummy);
	if (org != lc->origin)
		lc->origin = org; /* cannot happen: directives never reach ldns */
	if (s == LDNS_STATUS_OK) {
		int r = add_ldns_rr(lc, rr, line);
		ldns_rr_free(rr);
		if (r == -ENOMEM)
			return r;
	} else if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		   s == LDNS_STATUS_SYNTAX_ORIGIN) {
		/* nothing */
	} else if (s == LDNS_STATUS_MEM_ERR) {
		return -ENOMEM;
	} else {
		auth_zone_builder_err(lc->b, lc->fname, line, "%s", ldns_get_errorstr_by_id(s));
	}
	long p1 = ftell(fp);
	if (feof(fp))
		return 1;
	if (p1 <= p0) {
		/* no progress: do not loop forever */
		auth_zone_builder_err(lc->b, lc->fname, line, "cannot parse the record");
		return 1;
	}
	return 0;
}

/*
 * Read text record by record. Directives are handled here (ldns's $ORIGIN does
 * not make relative names relative, and its $INCLUDE gives no file name);
 * records go to ldns, which deals with parentheses, quotes and comments. The
 * line of a record is that of its first significant character, found from the
 * stream offsets before the call.
 */
static int load_text(struct auth_zone_builder *b, const struct auth_zone_reader *rd,
	const char *fname, const char *text, size_t len, const ldns_rdf *origin,
	uint32_t ttl, int depth)
{
	struct loadctx lc = { .b = b, .rd = rd, .fname = fname, .text = text, .len = len,
		.depth = depth, .default_ttl = ttl, .line = 1 };
	ldns_rdf *prev = NULL;
	FILE *fp = NULL;
	int rc = 0;

	lc.origin = ldns_rdf_clone(origin);
	if (!lc.origin)
		return -ENOMEM;
	if (len == 0)
		goto out;
	/* ldns parses from a stream: the text in memory as one. */
	fp = fmemopen((void *)text, len, "r");
	if (!fp) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		long p0 = ftell(fp);
		if (p0 < 0) {
			rc = -EIO;
			goto out;
		}
		size_t start = skip_blank(&lc, (size_t)p0);
		if (start >= len)
			break;
		unsigned line = line_at(&lc, start);
		if (text[start] == '$') {
			if ((rc = do_directive(&lc, fp, start, line)) < 0)
				goto out;
			continue;
		}
		/* Give ldns the record from the start of its line: leading blanks
		 * mean "same owner as before" (RFC 1035 5.1). */
		size_t ls = start;
		while (ls > (size_t)p0 && text[ls - 1] != '\n')
			ls--;
		if ((rc = do_record(&lc, fp, ls, line, &prev)) != 0)
			break;
	}
out:
	if (fp)
		fclose(fp);
	ldns_rdf_deep_free(prev);
	ldns_rdf_deep_free(lc.origin);
	return rc < 0 ? rc : 0;
}

static int load_common(const struct dns_mm *mm, const uint8_t *origin,
	const struct auth_zone_reader *rd, const char *name, const char *text,
	size_t len, struct auth_zone **out, char *err, size_t errlen)
{
	struct auth_zone_builder *b = NULL;
	ldns_rdf *org = NULL;
	int rc;

	*out = NULL;
	rc = auth_zone_builder_new(mm, origin, &b);
	if (rc < 0)
		return rc;
	b->srcname = auth_zone_builder_intern(b, name);
	org = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, b->origin_len, b->origin);
	if (!org || !b->srcname) {
		auth_zone_builder_free(b);
		ldns_rdf_deep_free(org);
		return -ENOMEM;
	}
	/* ldns's default TTL when no $TTL was seen is 3600, as NSD's. */
	rc = load_text(b, rd, name, text, len, org, 0, 0);
	ldns_rdf_deep_free(org);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", name, dns_strerror(rc));
		auth_zone_builder_free(b);
		return rc;
	}
	return auth_zone_builder_finish(b, out, err, errlen);
}

int auth_zone_load(const struct dns_mm *mm, const uint8_t *origin, const char *path,
	const struct auth_zone_reader *rd, struct auth_zone **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = rd->read(rd->ctx, path, &text, &len);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	rc = load_common(mm, origin, rd, path, text, len, out, err, errlen);
	rd->release(rd->ctx, text, len);
	return rc;
}

int auth_zone_load_string(const struct dns_mm *mm, const uint8_t *origin,
	const char *text, const char *name, struct auth_zone **out, char *err,
	size_t errlen)
{
	return load_common(mm, origin, NULL, name ? name : "(string)", text, strlen(text),
		out, err, errlen);
}

int auth_zone_check_file(const char *origin, const char *path,
	const struct auth_zone_reader *rd, char *err, size_t errlen)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t wl;
	struct auth_zone *z = NULL;
	int rc = dns_name_from_str(origin, NULL, wire, &wl);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "bad zone origin '%s'", origin);
		return DNS_E_SYNTAX;
	}
	rc = auth_zone_load(dns_mm_std(), wire, path, rd, &z, err, errlen);
	if (rc < 0)
		return rc;
	if (err && errlen) {
		char nb[DNS_NAME_TEXT_MAX];
		auth_name_text(z->origin, nb, sizeof(nb));
		snprintf(err, errlen, "zone %s serial %u: %zu records", nb,
			z->soa_fields.serial, z->rr_count);
	}
	auth_zone_unref(z);
	return 0;
}
