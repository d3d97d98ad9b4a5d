/*
 * http_mime.h -- Content-Type from a file name's extension.
 *
 * A fixed table of the common web types (RFC 6838 registrations, text types
 * with charset=utf-8); unknown extensions get application/octet-stream, which
 * a client must not sniff into something executable. Pure.
 */
#ifndef CAIRN_HTTP_MIME_H
#define CAIRN_HTTP_MIME_H

/* The media type for path's extension (case-insensitive). Never NULL. */
const char *http_mime_type(const char *path);

#endif
