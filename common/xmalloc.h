/* SPDX-License-Identifier: MIT */
/* Allocation helpers that exit on out-of-memory. */
#ifndef COMMON_XMALLOC_H
#define COMMON_XMALLOC_H

#include <stddef.h>

/* Each returns new memory (free with free()); exits on out-of-memory. */
void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *ptr, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
void	*xmemdup(const void *p, size_t n);
/* Returns a new string built like snprintf; free with free(). */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
