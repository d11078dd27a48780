// The OpenSSL headers MailTLS uses, plus static inline wrappers for the macros Swift cannot call.
#ifndef SWIFTMTA_COPENSSL_SHIM_H
#define SWIFTMTA_COPENSSL_SHIM_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

static inline int swiftmta_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int swiftmta_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline int swiftmta_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline long swiftmta_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

static inline void swiftmta_BIO_set_mem_eof_return(BIO *bio, int value) {
    (void)BIO_set_mem_eof_return(bio, value);
}

static inline int swiftmta_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *certificate) {
    return (int)SSL_CTX_add1_chain_cert(ctx, certificate);
}

/// The options every SwiftMTA context runs with: no renegotiation (RFC 5746 is moot when it is
/// refused outright), no TLS compression (CRIME), the server's cipher preference.
static inline void swiftmta_SSL_CTX_set_swiftmta_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Idle connections give their record buffers back: an MTA holds many quiet sessions.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // Finite-field Diffie-Hellman parameters sized to the certificate, for DHE suites in TLS 1.2.
    SSL_CTX_set_dh_auto(ctx, 1);
}

/// Whether the connection refuses renegotiation (for tests of the options above).
static inline int swiftmta_SSL_refuses_renegotiation(const SSL *ssl) {
    return (SSL_get_options(ssl) & SSL_OP_NO_RENEGOTIATION) != 0;
}

static inline EVP_PKEY *swiftmta_EVP_RSA_gen(unsigned int bits) {
    return EVP_RSA_gen(bits);
}

static inline EVP_PKEY *swiftmta_EVP_EC_gen(const char *curve) {
    return EVP_EC_gen(curve);
}

static inline STACK_OF(X509) *swiftmta_sk_X509_new_null(void) {
    return sk_X509_new_null();
}

static inline int swiftmta_sk_X509_push(STACK_OF(X509) *stack, X509 *certificate) {
    return sk_X509_push(stack, certificate);
}

/// Frees the stack only; the certificates stay with their owners.
static inline void swiftmta_sk_X509_free(STACK_OF(X509) *stack) {
    sk_X509_free(stack);
}

static inline void swiftmta_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

#endif
