/* SPDX-License-Identifier: MIT */
/*
 * The password file format, shared by mqttd (which verifies) and ternctl
 * passwd (which writes): hashing, verifying, parsing and formatting lines.
 *
 * A password file holds one entry per line:
 *
 *	USER:$pbkdf2-sha512$i=ITERATIONS$SALT$HASH
 *
 * USER is the MQTT username, as bytes (no ':', no control characters, not
 * starting with '#').  ITERATIONS is the PBKDF2 iteration count (decimal),
 * SALT a random 16-byte salt and HASH the 64-byte PBKDF2-HMAC-SHA512 output,
 * both in standard base64 (RFC 4648, '=' padding optional).  Blank lines and
 * lines whose first non-blank character is '#' are ignored.
 *
 * For migration from Mosquitto, lines written by mosquitto_passwd with its
 * default scheme are accepted as well:
 *
 *	USER:$7$ITERATIONS$SALT$HASH	(PBKDF2-HMAC-SHA512, base64 salt/hash)
 *
 * Mosquitto's older "$6$" (a single salted SHA-512) is refused: it is too
 * fast to resist guessing; re-hash those users with ternctl passwd.
 *
 * PBKDF2 comes from OpenSSL (PKCS5_PBKDF2_HMAC), the salt from RAND_bytes,
 * the comparison from CRYPTO_memcmp and base64 from EVP_EncodeBlock: no
 * cryptography is written here.
 */
#ifndef COMMON_PASSWD_H
#define COMMON_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Iterations of PBKDF2-HMAC-SHA512 for new hashes.  OWASP's 2023 figure is
 * 210,000, which costs about 0.35 s of one core here: a broker restart with
 * a few thousand password clients reconnecting would then spend minutes of
 * CPU on logins.  20,000 (about 35 ms) still makes each guess against a
 * stolen file cost 20,000 HMACs (Mosquitto's $7$ default is 101), and a
 * deployment that wants more sets it per hash (the count is stored in each
 * line; ternctl passwd honours TERN_PASSWD_ITERATIONS).  Never run it on an
 * event loop thread (mqttd uses its authpool).
 */
#define PASSWD_ITER_DEFAULT	20000
/* Lines with more iterations are refused (a typo must not hang a login). */
#define PASSWD_ITER_MAX		10000000
#define PASSWD_SALT_LEN		16	/* what passwd_hash_new() makes */
#define PASSWD_SALT_MAX		64	/* the longest salt accepted */
#define PASSWD_HASH_LEN		64	/* SHA-512 output */
#define PASSWD_USER_MAX		65535	/* MQTT's limit on a username */
/* Room for passwd_format()'s output, with its NUL. */
#define PASSWD_STR_MAX		256

enum passwd_scheme {
	PASSWD_SCHEME_PBKDF2_SHA512 = 1,	/* "$pbkdf2-sha512$i=N$" */
	PASSWD_SCHEME_MOSQ7			/* mosquitto_passwd "$7$N$" */
};

/* One parsed hash (the part after "USER:"). */
struct passwd_hash {
	enum passwd_scheme	 scheme;
	uint32_t		 iter;
	size_t			 salt_len;
	uint8_t			 salt[PASSWD_SALT_MAX];
	uint8_t			 hash[PASSWD_HASH_LEN];
};

/*
 * Hashes pw[0..len) with a new random salt and iter iterations into h
 * (scheme PBKDF2_SHA512).  Blocks for the KDF.  Returns 0, or -1 if pw
 * holds a NUL byte (see is_passwd_match()) or OpenSSL fails (iter must
 * be 1..PASSWD_ITER_MAX).
 */
int	passwd_hash_new(struct passwd_hash *h, const void *pw, size_t len,
	    uint32_t iter);
/*
 * True if pw[0..len) hashes to h.  Runs the KDF with h's salt and
 * iteration count (blocks: see PASSWD_ITER_DEFAULT) and compares in
 * constant time.  A password holding a NUL byte never matches: HMAC pads
 * its key with zero bytes, so "pw\0" would pass for "pw".  Thread-safe.
 */
bool	is_passwd_match(const struct passwd_hash *h, const void *pw,
	    size_t len);
/*
 * Writes h as "$pbkdf2-sha512$i=N$SALT$HASH" (or "$7$N$SALT$HASH") with a
 * NUL into out.  Returns 0, or -1 if outlen is too small (use
 * PASSWD_STR_MAX).
 */
int	passwd_format(const struct passwd_hash *h, char *out, size_t outlen);
/*
 * Parses s[0..len) (a hash without the user) into h.  Returns 0, or -1
 * with a static reason in *why.
 */
int	passwd_parse(const char *s, size_t len, struct passwd_hash *h,
	    const char **why);
/*
 * Parses one line of a password file (line[0..len), without its newline;
 * a trailing '\r' and trailing blanks are ignored).  Returns 1 for an
 * entry (*user and *ulen point into line, h is filled), 0 for a blank or
 * comment line, or -1 with a static reason in *why.
 */
int	passwd_parse_line(const char *line, size_t len, const char **user,
	    size_t *ulen, struct passwd_hash *h, const char **why);
/*
 * Checks that user[0..len) can be stored in a password file (1..
 * PASSWD_USER_MAX bytes, no ':', no control character, no leading '#').
 * Returns 0, or -1 with a static reason in *why.
 */
int	passwd_check_user(const char *user, size_t len, const char **why);
/*
 * Returns a new line "USER:HASH\n" with a NUL; free with free().  Returns
 * NULL (with *why set) if the user is not valid for a password file.
 */
char	*passwd_line_new(const char *user, size_t ulen,
	    const struct passwd_hash *h, const char **why);

#endif
