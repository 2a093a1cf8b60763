/* SPDX-License-Identifier: MIT */
/*
 * The TLS server context (certificate, key, client CAs) and client
 * certificate helpers, from OpenSSL; the per-connection TLS I/O is in
 * xport.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/xmalloc.h"
#include "mqttd/xport.h"

const char *
tls_error(char *buf, size_t len)
{
	unsigned long	e, last = 0;

	/* The last error is the most specific one. */
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(last, buf, len);
	return (buf);
}

SSL_CTX *
tls_ctx_new(const char *certfile, const char *keyfile, const char *cafile,
    bool require_cert, char *err, size_t errlen)
{
	static const unsigned char	 sid[] = "tern-mqttd";
	SSL_CTX				*ctx;
	STACK_OF(X509_NAME)		*cas;
	char				 e[256];

	ERR_clear_error();
	if (certfile == NULL || keyfile == NULL) {
		snprintf(err, errlen, "TLS listeners need "
		    "listener.ssl.certfile and listener.ssl.keyfile");
		return (NULL);
	}
	if (require_cert && cafile == NULL) {
		snprintf(err, errlen, "listener.ssl.require_certificate needs "
		    "listener.ssl.cafile");
		return (NULL);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s",
		    tls_error(e, sizeof(e)));
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * Writes go out in pieces from a buffer that grows and moves
	 * (xport.c); idle connections give their record buffers back.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* MQTT clients reconnect rarely: no session resumption. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
		snprintf(err, errlen, "%s: %s", certfile,
		    tls_error(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) !=
	    1) {
		snprintf(err, errlen, "%s: %s", keyfile,
		    tls_error(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s does not match %s: %s", keyfile,
		    certfile, tls_error(e, sizeof(e)));
		goto fail;
	}
	if (cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1 ||
		    (cas = SSL_load_client_CA_file(cafile)) == NULL) {
			snprintf(err, errlen, "%s: %s", cafile,
			    tls_error(e, sizeof(e)));
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, cas);
	}
	/* Without require_certificate no client certificate is asked for
	 * (as in Mosquitto). */
	SSL_CTX_set_verify(ctx, require_cert ? SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE, NULL);
	return (ctx);
 fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

char *
tls_cert_cn(X509 *cert)
{
	X509_NAME	*name;
	X509_NAME_ENTRY	*ent;
	unsigned char	*utf8 = NULL;
	char		*cn;
	int		 i, n;

	if (cert == NULL || (name = X509_get_subject_name(cert)) == NULL)
		return (NULL);
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return (NULL);
	ent = X509_NAME_get_entry(name, i);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (n <= 0)
		return (NULL);
	if (memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_free(utf8);
		return (NULL);
	}
	cn = xstrndup((const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return (cn);
}
