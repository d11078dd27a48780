// The Cyrus SASL (libsasl2) headers MailAuth uses, and typed helpers for what Swift cannot
// express directly: callback entries (libsasl2 stores every callback as `int (*)(void)`) and the
// variable-length `sasl_secret_t`.
#ifndef SWIFTMTA_CSASL_SHIM_H
#define SWIFTMTA_CSASL_SHIM_H

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdlib.h>
#include <string.h>

typedef int (*swiftmta_sasl_getopt_fn)(void *context, const char *plugin_name, const char *option,
                                       const char **result, unsigned *len);
typedef int (*swiftmta_sasl_log_fn)(void *context, int level, const char *message);
typedef int (*swiftmta_sasl_simple_fn)(void *context, int id, const char **result, unsigned *len);
typedef int (*swiftmta_sasl_secret_fn)(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret);
typedef int (*swiftmta_sasl_getrealm_fn)(void *context, int id, const char **availrealms, const char **result);

static inline sasl_callback_t swiftmta_sasl_callback_getopt(swiftmta_sasl_getopt_fn proc, void *context) {
    sasl_callback_t callback = { SASL_CB_GETOPT, (int (*)(void))proc, context };
    return callback;
}

static inline sasl_callback_t swiftmta_sasl_callback_log(swiftmta_sasl_log_fn proc, void *context) {
    sasl_callback_t callback = { SASL_CB_LOG, (int (*)(void))proc, context };
    return callback;
}

static inline sasl_callback_t swiftmta_sasl_callback_simple(unsigned long id, swiftmta_sasl_simple_fn proc, void *context) {
    sasl_callback_t callback = { id, (int (*)(void))proc, context };
    return callback;
}

static inline sasl_callback_t swiftmta_sasl_callback_secret(swiftmta_sasl_secret_fn proc, void *context) {
    sasl_callback_t callback = { SASL_CB_PASS, (int (*)(void))proc, context };
    return callback;
}

static inline sasl_callback_t swiftmta_sasl_callback_getrealm(swiftmta_sasl_getrealm_fn proc, void *context) {
    sasl_callback_t callback = { SASL_CB_GETREALM, (int (*)(void))proc, context };
    return callback;
}

static inline sasl_callback_t swiftmta_sasl_callback_end(void) {
    sasl_callback_t callback = { SASL_CB_LIST_END, NULL, NULL };
    return callback;
}

/// A `sasl_secret_t` holding a copy of `length` octets; free it with swiftmta_sasl_secret_free.
static inline sasl_secret_t *swiftmta_sasl_secret_new(const unsigned char *bytes, unsigned long length) {
    sasl_secret_t *secret = (sasl_secret_t *)malloc(sizeof(sasl_secret_t) + length + 1);
    if (secret == NULL) return NULL;
    secret->len = length;
    if (length > 0) memcpy(secret->data, bytes, length);
    secret->data[length] = 0;
    return secret;
}

/// Overwrites and frees a secret made by swiftmta_sasl_secret_new.
static inline void swiftmta_sasl_secret_free(sasl_secret_t *secret) {
    if (secret == NULL) return;
    volatile unsigned char *data = secret->data;
    for (unsigned long i = 0; i < secret->len; i++) data[i] = 0;
    free(secret);
}

#endif
