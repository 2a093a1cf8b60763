/* SPDX-License-Identifier: MIT */
/* ternctl keys create: the cluster's CURVE key pair (zmq_curve_keypair),
 * Z85 text files that clusterd reads from cluster.key_dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "ternctl/ternctl.h"

/* Creates path (never an existing one) with mode and text plus "\n". */
static int
keys_write(const char *path, mode_t mode, const char *text)
{
	char	line[64];
	int	fd, n;

	n = snprintf(line, sizeof(line), "%s\n", text);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1) {
		fprintf(stderr, "ternctl: %s: %s%s\n", path, strerror(errno),
		    errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return (-1);
	}
	if (fchmod(fd, mode) == -1 || write(fd, line, n) != n ||
	    fsync(fd) == -1) {
		fprintf(stderr, "ternctl: write %s: %s\n", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return (-1);
	}
	close(fd);
	return (0);
}

int
keys_create(const char *dir)
{
	char	pub[41], sec[41], kpath[4096], ppath[4096];
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "ternctl: mkdir %s: %s\n", dir,
		    strerror(errno));
		return (-1);
	}
	if ((size_t)snprintf(kpath, sizeof(kpath), "%s/cluster.key", dir) >=
	    sizeof(kpath) || (size_t)snprintf(ppath, sizeof(ppath),
	    "%s/cluster.pub", dir) >= sizeof(ppath)) {
		fprintf(stderr, "ternctl: %s: path too long\n", dir);
		return (-1);
	}
	/* Check both first, so that nothing is half made. */
	if (stat(kpath, &st) == 0 || stat(ppath, &st) == 0) {
		fprintf(stderr, "ternctl: %s already exists (refusing to "
		    "overwrite a key)\n", stat(kpath, &st) == 0 ? kpath :
		    ppath);
		return (-1);
	}
	if (zmq_curve_keypair(pub, sec) == -1) {
		fprintf(stderr, "ternctl: zmq_curve_keypair: %s\n",
		    zmq_strerror(errno));
		return (-1);
	}
	if (keys_write(kpath, 0600, sec) == -1)
		return (-1);
	if (keys_write(ppath, 0644, pub) == -1) {
		unlink(kpath);
		return (-1);
	}
	explicit_bzero(sec, sizeof(sec));
	printf("wrote %s (secret, mode 0600) and %s\n", kpath, ppath);
	return (0);
}
