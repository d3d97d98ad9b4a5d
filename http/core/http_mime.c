/* http_mime.c -- the extension table. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http_mime.h"

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
	{"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
	{"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
	{"txt", "text/plain; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
	{"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
	{"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
	{"webp", "image/webp"}, {"avif", "image/avif"}, {"ico", "image/vnd.microsoft.icon"},
	{"woff", "font/woff"}, {"woff2", "font/woff2"}, {"ttf", "font/ttf"}, {"otf", "font/otf"},
	{"mp4", "video/mp4"}, {"webm", "video/webm"}, {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"},
	{"wasm", "application/wasm"}, {"pdf", "application/pdf"}, {"zip", "application/zip"},
	{"gz", "application/gzip"}, {"tar", "application/x-tar"}, {"bin", "application/octet-stream"},
	{"md", "text/markdown; charset=utf-8"},
};

const char *http_mime_type(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(path, '.');
	if (!dot || (slash && dot < slash) || dot[1] == '\0')
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}
