/* SPDX-License-Identifier: MIT */
/*
 * ternctl passwd FILE USER: adds or updates a user's hashed password in a
 * password file (format in common/passwd.h).
 */
#ifndef TERNCTL_PASSWD_H
#define TERNCTL_PASSWD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Environment variable that overrides the iteration count of new hashes
 * (1..PASSWD_ITER_MAX): for tests, which cannot wait 0.35 s per login.
 */
#define TERNCTL_PASSWD_ITER_ENV	"TERN_PASSWD_ITERATIONS"

/*
 * ternctl passwd FILE USER: reads the password from standard input (on a
 * terminal: prompts twice with echo off; otherwise the first line, without
 * its newline), then calls ternctl_passwd_set().  Blocks.  Returns the
 * process exit code (0 or 1; messages on stderr).
 */
int	ternctl_passwd(const char *file, const char *user);
/*
 * Sets user's password to pw[0..pwlen) in file: replaces the user's line
 * (and drops later lines of the same user), or appends one; keeps every
 * other line as it was (comments too; lines that do not parse are kept
 * and warned about on stderr).  A new file is created with mode 0640; an
 * existing one keeps its mode and owner.  The file is replaced atomically
 * (temporary file, fsync, rename).  iter 0 means the default (or the
 * TERN_PASSWD_ITERATIONS environment variable).  Blocks for one KDF run.
 * Returns 0, or -1 with a message on stderr.
 */
int	ternctl_passwd_set(const char *file, const char *user, const void *pw,
	    size_t pwlen, uint32_t iter);

#endif
