/*
 * origin_serve.c -- cairn-origin's answer to one request: a file below the
 * root, with validators, conditionals (RFC 9110 13) and single ranges (14).
 *
 * The file is found and opened on libuv's thread pool (realpath, open, fstat
 * block), then streamed in chunks with uv_fs_read, each chunk written before
 * the next is read, so memory per request is one chunk whatever the file size.
 *
 * Confinement to the root, in three layers: the URL path is normalised with
 * ".." refused (http_path.h); the joined path is resolved with realpath(3) and
 * must stay below the real root, so a symlink pointing out of the root is 404;
 * and the file finally opened is checked again through /proc/self/fd, so a
 * directory swapped for a symlink between the check and the open is caught.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns_err.h"
#include "dns_log.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_mime.h"
#include "http_path.h"
#include "http_range.h"
#include "origin.h"

/* Bytes read and written at a time. */
#define CHUNK (64 * 1024)

struct job {
	uv_work_t work;
	uv_fs_t fs;
	struct http_exchange *ex;
	uv_loop_t *loop;
	const struct origin_config *cfg;
	char path[PATH_MAX];     /* normalised URL path */
	const char *target;      /* the origin-form target as sent (lives as long as the exchange) */
	/* results of the lookup */
	int status;              /* 0 found, else the status to answer */
	int fd;
	struct stat st;
	bool redirect;           /* a directory asked without its trailing '/' */
	bool index;              /* the file is the directory's index file */
	/* streaming */
	uint64_t off, remaining;
	char *buf;
};

static void job_free(struct job *j)
{
	if (j->fd >= 0) {
		uv_fs_t req;
		uv_fs_close(NULL, &req, j->fd, NULL);
		uv_fs_req_cleanup(&req);
	}
	free(j->buf);
	free(j);
}

static void reply_status(struct http_exchange *ex, int status, const char *extra)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_status_reason(status));
	http_exchange_reply(ex, status, extra, "text/plain; charset=utf-8", body, (size_t)n);
}

/* Is real (a resolved absolute path) the root or below it? */
static bool under_root(const struct origin_config *cfg, const char *real)
{
	size_t n = cfg->real_root_len;
	if (strncmp(real, cfg->real_root, n) != 0)
		return false;
	/* The root "/" itself: everything is below it. */
	if (n == 1)
		return true;
	return real[n] == '\0' || real[n] == '/';
}

/* Open the resolved path and check the open file is still below the root. */
static int open_checked(const struct origin_config *cfg, const char *real, struct stat *st)
{
	char proc[64], link[PATH_MAX];
	ssize_t n;
	/* O_NONBLOCK: opening a FIFO placed in the root must not hang a worker. */
	int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if (!under_root(cfg, link)) {
			close(fd);
			return -ENOENT;
		}
	}
	if (fstat(fd, st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Thread pool: find the file for j->path. */
static void lookup(uv_work_t *w)
{
	struct job *j = w->data;
	const struct origin_config *cfg = j->cfg;
	char full[PATH_MAX * 2], *real;
	int fd;

	j->status = 404;
	j->fd = -1;
	if ((size_t)snprintf(full, sizeof(full), "%s%s", cfg->real_root_len == 1 ? "" : cfg->real_root,
		    j->path) >= sizeof(full))
		return;
	real = realpath(full, NULL);
	if (!real) {
		if (errno == EACCES)
			j->status = 403;
		return;
	}
	if (!under_root(cfg, real)) {
		log_debug("%s resolves to %s, outside the root", j->path, real);
		free(real);
		return;
	}
	fd = open_checked(cfg, real, &j->st);
	if (fd < 0) {
		if (fd == -EACCES)
			j->status = 403;
		free(real);
		return;
	}
	if (S_ISDIR(j->st.st_mode)) {
		close(fd);
		size_t pl = strlen(j->path);
		if (pl == 0 || j->path[pl - 1] != '/') {
			j->redirect = true;
			j->status = 301;
			free(real);
			return;
		}
		/* A directory: its index file, resolved and checked the same way. */
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", real, cfg->index) >= sizeof(full)) {
			free(real);
			return;
		}
		free(real);
		real = realpath(full, NULL);
		if (!real || !under_root(cfg, real) || (fd = open_checked(cfg, real, &j->st)) < 0) {
			free(real);
			return;
		}
		j->index = true;
	}
	free(real);
	if (!S_ISREG(j->st.st_mode)) {
		close(fd);
		return;
	}
	j->fd = fd;
	j->status = 0;
}

static void send_next(struct job *j);

static void on_sent(struct http_exchange *ex, int status, void *arg)
{
	struct job *j = arg;
	if (status < 0) {
		http_exchange_close(ex);
		http_exchange_end(ex);
		job_free(j);
		return;
	}
	if (j->remaining == 0) {
		http_exchange_end(ex);
		job_free(j);
		return;
	}
	send_next(j);
}

static void on_read(uv_fs_t *req)
{
	struct job *j = req->data;
	ssize_t n = req->result;
	uv_fs_req_cleanup(req);
	if (n <= 0) {
		/* The file shrank or failed under us: the promised length cannot be kept. */
		log_warn("%s: read: %s", j->path, n == 0 ? "file shorter than its size" : uv_strerror((int)n));
		http_exchange_close(j->ex);
		http_exchange_end(j->ex);
		job_free(j);
		return;
	}
	if ((uint64_t)n > j->remaining)
		n = (ssize_t)j->remaining;
	j->off += (uint64_t)n;
	j->remaining -= (uint64_t)n;
	if (http_exchange_send(j->ex, j->buf, (size_t)n, on_sent, j) < 0) {
		http_exchange_close(j->ex);
		http_exchange_end(j->ex);
		job_free(j);
	}
}

static void send_next(struct job *j)
{
	size_t want = j->remaining < CHUNK ? (size_t)j->remaining : CHUNK;
	uv_buf_t b = uv_buf_init(j->buf, (unsigned)want);
	j->fs.data = j;
	int r = uv_fs_read(j->loop, &j->fs, j->fd, &b, 1, (int64_t)j->off, on_read);
	if (r < 0) {
		http_exchange_close(j->ex);
		http_exchange_end(j->ex);
		job_free(j);
	}
}

static void add_validators(struct http_head *h, const char *etag, const struct stat *st,
	const char *cc)
{
	char date[HTTP_DATE_LEN];
	if (http_date_format((int64_t)st->st_mtim.tv_sec, date, sizeof(date)) > 0)
		http_head_add(h, "Last-Modified", date);
	http_head_add(h, "ETag", etag);
	if (cc)
		http_head_add(h, "Cache-Control", cc);
}

/* The lookup ended in status st (a redirect, 403, 404, 500 ...): answer it; frees j. */
static void reply_lookup_status(struct job *j, int st)
{
	struct http_exchange *ex = j->ex;
	char extra[PATH_MAX + 64];
	if (j->redirect) {
		/*
		 * RFC 9110 15.4.2: the directory's URL ends in '/', so relative
		 * links work. Built from the target as sent (still percent-encoded,
		 * checked by llhttp), the query kept.
		 */
		size_t pl = strcspn(j->target, "?");
		snprintf(extra, sizeof(extra), "Location: %.*s/%s\r\n", (int)pl, j->target,
			j->target + pl);
		reply_status(ex, st, extra);
	} else {
		reply_status(ex, st, NULL);
	}
	job_free(j);
}

/* The head is sent: send len bytes of the file from first on, piece by piece; j is the sender's. */
static void send_body_start(struct job *j, uint64_t first, uint64_t len)
{
	j->buf = malloc(len < CHUNK ? (size_t)len : CHUNK);
	if (!j->buf) {
		http_exchange_close(j->ex);
		http_exchange_end(j->ex);
		job_free(j);
		return;
	}
	j->off = first;
	j->remaining = len;
	send_next(j);
}

static void after_lookup(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct http_exchange *ex = j->ex;
	const struct http_request *r = http_exchange_request(ex);
	const char *cc = origin_cache_control(j->cfg, j->path);
	char etag[HTTP_ETAG_MAX], head[2048], extra[PATH_MAX + 64];
	struct http_head h;
	uint64_t size, first = 0, last = 0;
	int code = 200;

	if (status < 0 || j->status) {
		reply_lookup_status(j, status < 0 ? 500 : j->status);
		return;
	}
	size = (uint64_t)j->st.st_size;
	http_etag_make(etag, sizeof(etag), (uint64_t)j->st.st_ino, size,
		(int64_t)j->st.st_mtim.tv_sec * 1000000000LL + j->st.st_mtim.tv_nsec);
	struct http_validators v = {.etag = etag, .has_mtime = true, .mtime = (int64_t)j->st.st_mtim.tv_sec};

	int cond = http_cond_eval(r, &v);
	if (cond == 304) {
		/* RFC 9110 15.4.5: the fields a 200 would have carried that describe caching. */
		http_exchange_head_init(ex, &h, head, sizeof(head), 304);
		add_validators(&h, etag, &j->st, cc);
		http_exchange_send_head(ex, &h, 304);
		http_exchange_end(ex);
		job_free(j);
		return;
	}
	if (cond == 412) {
		reply_status(ex, 412, NULL);
		job_free(j);
		return;
	}
	const struct http_header *range = http_request_header(r, "range");
	if (range && r->method == HTTP_METHOD_GET && http_if_range_ok(r, &v)) {
		switch (http_range_eval(range->value, size, &first, &last)) {
		case HTTP_RANGE_PARTIAL:
			code = 206;
			break;
		case HTTP_RANGE_UNSATISFIABLE:
			/* RFC 9110 15.5.17: say how long the representation is. */
			snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n",
				(unsigned long long)size);
			reply_status(ex, 416, extra);
			job_free(j);
			return;
		case HTTP_RANGE_NONE:
			break;
		}
	}
	if (code == 200) {
		first = 0;
		last = size ? size - 1 : 0;
	}
	uint64_t len = size ? last - first + 1 : 0;
	http_exchange_head_init(ex, &h, head, sizeof(head), code);
	http_head_add(&h, "Content-Type", http_mime_type(j->index ? j->cfg->index : j->path));
	http_head_addf(&h, "Content-Length", "%llu", (unsigned long long)len);
	if (code == 206)
		http_head_addf(&h, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)first,
			(unsigned long long)last, (unsigned long long)size);
	http_head_add(&h, "Accept-Ranges", "bytes");
	add_validators(&h, etag, &j->st, cc);
	if (http_exchange_send_head(ex, &h, code) < 0 || r->method == HTTP_METHOD_HEAD || len == 0) {
		http_exchange_end(ex);
		job_free(j);
		return;
	}
	send_body_start(j, first, len);
}

void origin_serve(void *ctx, struct http_exchange *ex)
{
	const struct origin_config *cfg = ctx;
	const struct http_request *r = http_exchange_request(ex);
	const char *target;
	struct job *j;
	int n;

	if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
		/* RFC 9110 15.5.6: 405 lists the methods the resource has. */
		reply_status(ex, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	target = http_target_path(r->target, NULL, NULL);
	if (!target) {
		reply_status(ex, 400, NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		reply_status(ex, 500, NULL);
		return;
	}
	j->fd = -1;
	j->ex = ex;
	j->target = target;
	j->loop = http_exchange_loop(ex);
	j->cfg = cfg;
	n = http_path_normalize(target, strlen(target), j->path, sizeof(j->path), NULL);
	if (n < 0) {
		/* ".." and friends are refused, not resolved: 400 (RFC 9110 15.5.1). */
		reply_status(ex, n == DNS_E_SPACE ? 414 : 400, NULL);
		job_free(j);
		return;
	}
	j->work.data = j;
	if (uv_queue_work(j->loop, &j->work, lookup, after_lookup) < 0) {
		reply_status(ex, 500, NULL);
		job_free(j);
	}
}
