/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the TLS helpers (mqttd/tls.c): the server context from
 * files the test makes, its errors, client certificate verification in a
 * handshake over memory BIOs (TLS 1.2 and 1.3), and the CN as identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mqttd/xport.h"
#include "tests/unit/unit.h"

static char	dir[] = "/tmp/tern-test-tls.XXXXXX";
static char	ca_crt[256], ca_key[256], srv_crt[256], srv_key[256];
static char	cli_crt[256], cli_key[256], other_key[256];
static EVP_PKEY	*ca_pkey, *cli_pkey;
static X509	*ca_x509, *cli_x509;

static EVP_PKEY *
make_key(void)
{
	return (EVP_EC_gen("P-256"));
}

/* A certificate for CN cn with key, signed by issuer (NULL: self). */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    bool ca)
{
	X509		*x = X509_new();
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	static long	 serial = 1;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0);
	else
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		    (const unsigned char *)"no cn", -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256());
	return (x);
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE	*f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	if (x != NULL)
		PEM_write_X509(f, x);
	if (k != NULL)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static int
setup(void)
{
	EVP_PKEY	*sk, *ok;
	X509		*sx;

	if (mkdtemp(dir) == NULL)
		return (-1);
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
	snprintf(srv_crt, sizeof(srv_crt), "%s/srv.crt", dir);
	snprintf(srv_key, sizeof(srv_key), "%s/srv.key", dir);
	snprintf(cli_crt, sizeof(cli_crt), "%s/cli.crt", dir);
	snprintf(cli_key, sizeof(cli_key), "%s/cli.key", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	ca_pkey = make_key();
	ca_x509 = make_cert("Tern Test CA", ca_pkey, NULL, NULL, true);
	sk = make_key();
	sx = make_cert("localhost", sk, ca_x509, ca_pkey, false);
	cli_pkey = make_key();
	cli_x509 = make_cert("sensor-7", cli_pkey, ca_x509, ca_pkey, false);
	ok = make_key();
	write_pem(ca_crt, ca_x509, NULL);
	write_pem(ca_key, NULL, ca_pkey);
	write_pem(srv_crt, sx, NULL);
	write_pem(srv_key, NULL, sk);
	write_pem(cli_crt, cli_x509, NULL);
	write_pem(cli_key, NULL, cli_pkey);
	write_pem(other_key, NULL, ok);
	X509_free(sx);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(ok);
	return (0);
}

static void
teardown(void)
{
	const char	*files[] = { ca_crt, ca_key, srv_crt, srv_key, cli_crt,
	    cli_key, other_key };
	size_t		 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(dir);
	X509_free(ca_x509);
	X509_free(cli_x509);
	EVP_PKEY_free(ca_pkey);
	EVP_PKEY_free(cli_pkey);
}

static void
test_tls_ctx_errors(void)
{
	char	 err[512];
	SSL_CTX	*ctx;

	ctx = tls_ctx_new(NULL, srv_key, NULL, false, err, sizeof(err));
	CU_ASSERT_PTR_NULL(ctx);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "certfile"));
	ctx = tls_ctx_new("/nonexistent/x.crt", srv_key, NULL, false, err,
	    sizeof(err));
	CU_ASSERT_PTR_NULL(ctx);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.crt"));
	/* A key that is not the certificate's. */
	ctx = tls_ctx_new(srv_crt, other_key, NULL, false, err, sizeof(err));
	CU_ASSERT_PTR_NULL(ctx);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, other_key));
	/* require_certificate without a CA file. */
	ctx = tls_ctx_new(srv_crt, srv_key, NULL, true, err, sizeof(err));
	CU_ASSERT_PTR_NULL(ctx);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cafile"));
	ctx = tls_ctx_new(srv_crt, srv_key, "/nonexistent/ca.crt", true, err,
	    sizeof(err));
	CU_ASSERT_PTR_NULL(ctx);
}

static void
test_tls_cert_cn(void)
{
	EVP_PKEY	*k = make_key();
	X509		*x;
	char		*cn;

	cn = tls_cert_cn(cli_x509);
	CU_ASSERT_STRING_EQUAL(cn, "sensor-7");
	free(cn);
	x = make_cert(NULL, k, NULL, NULL, false);
	CU_ASSERT_PTR_NULL(tls_cert_cn(x));
	X509_free(x);
	x = make_cert("d\xc3\xa9j\xc3\xa0", k, NULL, NULL, false);
	cn = tls_cert_cn(x);
	CU_ASSERT_STRING_EQUAL(cn, "d\xc3\xa9j\xc3\xa0");
	free(cn);
	X509_free(x);
	CU_ASSERT_PTR_NULL(tls_cert_cn(NULL));
	EVP_PKEY_free(k);
}

/*
 * Runs a handshake between sctx and a client over memory BIOs.  Returns 1
 * if both sides finished, 0 if one failed.  *version gets the protocol.
 */
static int
run_handshake(SSL_CTX *sctx, int version, bool with_cert, char **cn,
    int *got_version)
{
	SSL_CTX	*cctx = SSL_CTX_new(TLS_client_method());
	SSL	*s = SSL_new(sctx), *c;
	BIO	*sb, *cb;
	int	 i, rs = 0, rc = 0, ok = 0;

	SSL_CTX_set_min_proto_version(cctx, version);
	SSL_CTX_set_max_proto_version(cctx, version);
	SSL_CTX_load_verify_locations(cctx, ca_crt, NULL);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	if (with_cert) {
		SSL_CTX_use_certificate(cctx, cli_x509);
		SSL_CTX_use_PrivateKey(cctx, cli_pkey);
	}
	c = SSL_new(cctx);
	SSL_set_tlsext_host_name(c, "localhost");
	BIO_new_bio_pair(&sb, 0, &cb, 0);
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (i = 0; i < 20 && (rs != 1 || rc != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(c);
		if (rs != 1)
			rs = SSL_do_handshake(s);
		if ((rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(s, rs) != SSL_ERROR_WANT_WRITE) ||
		    (rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(c, rc) != SSL_ERROR_WANT_WRITE))
			break;
	}
	/* TLS 1.3: the client finishes first; the server's verdict on its
	 * certificate comes with the server's last step. */
	if (rs == 1 && rc == 1) {
		ok = 1;
		*got_version = SSL_version(s);
		if (cn != NULL)
			*cn = tls_cert_cn(SSL_get0_peer_certificate(s));
	}
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	ERR_clear_error();
	return (ok);
}

static void
test_tls_handshakes(void)
{
	char	 err[512], *cn = NULL;
	SSL_CTX	*open, *strict;
	int	 v = 0;

	open = tls_ctx_new(srv_crt, srv_key, NULL, false, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(open);
	strict = tls_ctx_new(srv_crt, srv_key, ca_crt, true, err,
	    sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(strict);

	CU_ASSERT_EQUAL(run_handshake(open, TLS1_2_VERSION, false, NULL, &v),
	    1);
	CU_ASSERT_EQUAL(v, TLS1_2_VERSION);
	CU_ASSERT_EQUAL(run_handshake(open, TLS1_3_VERSION, false, NULL, &v),
	    1);
	CU_ASSERT_EQUAL(v, TLS1_3_VERSION);
	/* TLS 1.1 is refused. */
	CU_ASSERT_EQUAL(run_handshake(open, TLS1_1_VERSION, false, NULL, &v),
	    0);

	/* require_certificate: refused without one, CN with one. */
	CU_ASSERT_EQUAL(run_handshake(strict, TLS1_2_VERSION, false, NULL,
	    &v), 0);
	CU_ASSERT_EQUAL(run_handshake(strict, TLS1_3_VERSION, false, NULL,
	    &v), 0);
	CU_ASSERT_EQUAL(run_handshake(strict, TLS1_3_VERSION, true, &cn, &v),
	    1);
	CU_ASSERT_PTR_NOT_NULL(cn);
	if (cn != NULL)
		CU_ASSERT_STRING_EQUAL(cn, "sensor-7");
	free(cn);
	cn = NULL;
	CU_ASSERT_EQUAL(run_handshake(strict, TLS1_2_VERSION, true, &cn, &v),
	    1);
	free(cn);
	SSL_CTX_free(open);
	SSL_CTX_free(strict);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_tls_ctx_errors),
		UNIT_TEST(test_tls_cert_cn),
		UNIT_TEST(test_tls_handshakes),
		UNIT_END
	};
	int	rc;

	if (setup() == -1)
		return (2);
	rc = unit_run("tls", tests);
	teardown();
	return (rc);
}
