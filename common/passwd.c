/* SPDX-License-Identifier: MIT */
/* Password file lines: PBKDF2-HMAC-SHA512 hashes through OpenSSL. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/passwd.h"
#include "common/xmalloc.h"

#define PASSWD_TAG_NATIVE	"$pbkdf2-sha512$i="
#define PASSWD_TAG_MOSQ7	"$7$"
#define PASSWD_TAG_MOSQ6	"$6$"
/* Shortest salt accepted from a file (mosquitto_passwd uses 12 bytes). */
#define PASSWD_SALT_MIN		8
/* Longest base64 text of one field (PASSWD_SALT_MAX bytes, padded). */
#define PASSWD_B64_MAX		(((PASSWD_SALT_MAX + 2) / 3) * 4)

static bool
is_passwd_b64_char(char ch)
{
	return ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/');
}

/*
 * Decodes standard base64 s[0..len) ('=' padding optional) into out
 * (room for max bytes).  EVP_DecodeBlock wants padded input and counts
 * the padding as zero bytes, so pad here and trim its count.  Returns the
 * number of bytes, or -1 if s is not base64 or decodes to more than max.
 */
static int
passwd_b64_decode(const char *s, size_t len, uint8_t *out, size_t max)
{
	unsigned char	 in[PASSWD_B64_MAX + 4];
	unsigned char	 tmp[(PASSWD_B64_MAX / 4) * 3 + 3];
	size_t		 n, i, padded, outlen, pad = 0;
	int		 r;

	while (len > 0 && s[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len == 0 || len % 4 == 1 || len > PASSWD_B64_MAX)
		return (-1);
	for (i = 0; i < len; i++)
		if (!is_passwd_b64_char(s[i]))
			return (-1);
	memcpy(in, s, len);
	padded = (len + 3) / 4 * 4;
	for (n = len; n < padded; n++)
		in[n] = '=';
	in[padded] = '\0';
	outlen = len * 3 / 4;
	if (outlen > max)
		return (-1);
	r = EVP_DecodeBlock(tmp, in, (int)padded);
	if (r < 0 || (size_t)r < outlen)
		return (-1);
	memcpy(out, tmp, outlen);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return ((int)outlen);
}

/* Appends base64 of p[0..n) to out at *off, with '=' padding if pad. */
static int
passwd_b64_put(char *out, size_t outlen, size_t *off, const uint8_t *p,
    size_t n, bool pad)
{
	size_t	need = (n + 2) / 3 * 4;
	int	w;

	if (*off + need + 1 > outlen)
		return (-1);
	w = EVP_EncodeBlock((unsigned char *)out + *off, p, (int)n);
	if (w < 0)
		return (-1);
	if (!pad)
		while (w > 0 && out[*off + w - 1] == '=')
			w--;
	*off += (size_t)w;
	out[*off] = '\0';
	return (0);
}

/* Runs the KDF of h's scheme (both are PBKDF2-HMAC-SHA512) into out. */
static int
passwd_kdf(const struct passwd_hash *h, const void *pw, size_t len,
    uint8_t out[PASSWD_HASH_LEN])
{
	static const char	 empty[1] = "";

	if (len > INT32_MAX || h->iter == 0 || h->iter > PASSWD_ITER_MAX)
		return (-1);
	if (PKCS5_PBKDF2_HMAC(len > 0 ? pw : empty, (int)len, h->salt,
	    (int)h->salt_len, (int)h->iter, EVP_sha512(), PASSWD_HASH_LEN,
	    out) != 1)
		return (-1);
	return (0);
}

int
passwd_hash_new(struct passwd_hash *h, const void *pw, size_t len,
    uint32_t iter)
{
	memset(h, 0, sizeof(*h));
	if (len > 0 && memchr(pw, '\0', len) != NULL)
		return (-1);
	h->scheme = PASSWD_SCHEME_PBKDF2_SHA512;
	h->iter = iter;
	h->salt_len = PASSWD_SALT_LEN;
	if (RAND_bytes(h->salt, PASSWD_SALT_LEN) != 1)
		return (-1);
	return (passwd_kdf(h, pw, len, h->hash));
}

bool
is_passwd_match(const struct passwd_hash *h, const void *pw, size_t len)
{
	uint8_t	 out[PASSWD_HASH_LEN];
	bool	 ok;

	if (passwd_kdf(h, pw, len, out) == -1)
		return (false);
	/* HMAC pads its key with zeros: "pw" and "pw\0" would be equal. */
	ok = CRYPTO_memcmp(out, h->hash, PASSWD_HASH_LEN) == 0 &&
	    (len == 0 || memchr(pw, '\0', len) == NULL);
	OPENSSL_cleanse(out, sizeof(out));
	return (ok);
}

int
passwd_format(const struct passwd_hash *h, char *out, size_t outlen)
{
	size_t	off;
	int	n;
	bool	mosq = h->scheme == PASSWD_SCHEME_MOSQ7;

	n = snprintf(out, outlen, "%s%u$", mosq ? PASSWD_TAG_MOSQ7 :
	    PASSWD_TAG_NATIVE, h->iter);
	if (n < 0 || (size_t)n >= outlen)
		return (-1);
	off = (size_t)n;
	/* Mosquitto writes padding; the native form follows PHC (none). */
	if (passwd_b64_put(out, outlen, &off, h->salt, h->salt_len,
	    mosq) == -1 || off + 2 > outlen)
		return (-1);
	out[off++] = '$';
	out[off] = '\0';
	return (passwd_b64_put(out, outlen, &off, h->hash, PASSWD_HASH_LEN,
	    mosq));
}

/* Parses the decimal iteration count s[0..len). */
static int
passwd_parse_iter(const char *s, size_t len, uint32_t *iter)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 10)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > PASSWD_ITER_MAX)
		return (-1);
	*iter = (uint32_t)v;
	return (0);
}

int
passwd_parse(const char *s, size_t len, struct passwd_hash *h,
    const char **why)
{
	const char	*p, *end = s + len, *d1, *d2;
	size_t		 tag;
	int		 n;

	memset(h, 0, sizeof(*h));
	if (len >= sizeof(PASSWD_TAG_NATIVE) - 1 &&
	    memcmp(s, PASSWD_TAG_NATIVE, sizeof(PASSWD_TAG_NATIVE) - 1) == 0) {
		h->scheme = PASSWD_SCHEME_PBKDF2_SHA512;
		tag = sizeof(PASSWD_TAG_NATIVE) - 1;
	} else if (len >= sizeof(PASSWD_TAG_MOSQ7) - 1 &&
	    memcmp(s, PASSWD_TAG_MOSQ7, sizeof(PASSWD_TAG_MOSQ7) - 1) == 0) {
		h->scheme = PASSWD_SCHEME_MOSQ7;
		tag = sizeof(PASSWD_TAG_MOSQ7) - 1;
	} else if (len >= sizeof(PASSWD_TAG_MOSQ6) - 1 &&
	    memcmp(s, PASSWD_TAG_MOSQ6, sizeof(PASSWD_TAG_MOSQ6) - 1) == 0) {
		*why = "mosquitto \"$6$\" hash (one SHA-512) is too weak: "
		    "set the password again with ternctl passwd";
		return (-1);
	} else {
		*why = len > 0 && s[0] == '$' ? "unknown hash scheme "
		    "(want $pbkdf2-sha512$ or mosquitto's $7$)" :
		    "not a hash (a plain text password?): use ternctl passwd";
		return (-1);
	}
	p = s + tag;
	if ((d1 = memchr(p, '$', (size_t)(end - p))) == NULL ||
	    (d2 = memchr(d1 + 1, '$', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '$', (size_t)(end - d2 - 1)) != NULL) {
		*why = "malformed hash: want $scheme$iterations$salt$hash";
		return (-1);
	}
	if (passwd_parse_iter(p, (size_t)(d1 - p), &h->iter) == -1) {
		*why = "bad iteration count (1..10000000)";
		return (-1);
	}
	n = passwd_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), h->salt,
	    PASSWD_SALT_MAX);
	if (n < PASSWD_SALT_MIN) {
		*why = "bad salt (want base64 of 8..64 bytes)";
		return (-1);
	}
	h->salt_len = (size_t)n;
	n = passwd_b64_decode(d2 + 1, (size_t)(end - d2 - 1), h->hash,
	    PASSWD_HASH_LEN);
	if (n != PASSWD_HASH_LEN) {
		*why = "bad hash (want base64 of 64 bytes)";
		return (-1);
	}
	return (0);
}

int
passwd_check_user(const char *user, size_t len, const char **why)
{
	size_t	i;

	if (len == 0) {
		*why = "empty user name";
		return (-1);
	}
	if (len > PASSWD_USER_MAX) {
		*why = "user name longer than 65535 bytes";
		return (-1);
	}
	if (user[0] == '#') {
		*why = "user name starts with '#' (a comment)";
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f) {
			*why = "control character in user name";
			return (-1);
		}
		if (user[i] == ':') {
			*why = "':' in user name";
			return (-1);
		}
	}
	return (0);
}

int
passwd_parse_line(const char *line, size_t len, const char **user,
    size_t *ulen, struct passwd_hash *h, const char **why)
{
	const char	*colon;
	size_t		 i;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len || line[i] == '#')
		return (0);
	if ((colon = memchr(line, ':', len)) == NULL) {
		*why = "missing ':' between user name and hash";
		return (-1);
	}
	if (passwd_check_user(line, (size_t)(colon - line), why) == -1)
		return (-1);
	if (passwd_parse(colon + 1, len - (size_t)(colon - line) - 1, h,
	    why) == -1)
		return (-1);
	*user = line;
	*ulen = (size_t)(colon - line);
	return (1);
}

char *
passwd_line_new(const char *user, size_t ulen, const struct passwd_hash *h,
    const char **why)
{
	char	 hs[PASSWD_STR_MAX], *line;
	size_t	 hl;

	if (passwd_check_user(user, ulen, why) == -1)
		return (NULL);
	if (passwd_format(h, hs, sizeof(hs)) == -1) {
		*why = "hash does not format";
		return (NULL);
	}
	hl = strlen(hs);
	line = xmalloc(ulen + hl + 3);
	memcpy(line, user, ulen);
	line[ulen] = ':';
	memcpy(line + ulen + 1, hs, hl);
	line[ulen + 1 + hl] = '\n';
	line[ulen + 2 + hl] = '\0';
	return (line);
}
