// The Cyrus SASL (libsasl2) headers MailAuth uses, and typed helpers for what Swift cannot
// express directly: callback entries (libsasl2 stores every callback as `int (*)(void)`) and the
// variable-length `sasl_secret_t`.
#ifndef SWIFTMTA_CSASL_SHIM_H
#define SWIFTMTA_CSASL_SHIM_H

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <dlfcn.h>
#include <pthread.h>
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

/// libsasl2 never reads a configuration file (`/etc/sasl2/<app>.conf`, `SASL_CONF_PATH`, a
/// `plugin_list` file): they are reported as absent, so every option comes from the bridge's GETOPT
/// callbacks. Plugins and password files are verified as usual.
static inline int swiftmta_sasl_verifyfile(void *context, const char *file, sasl_verify_type_t type) {
    (void)context;
    (void)file;
    return type == SASL_VRFY_CONF ? SASL_CONTINUE : SASL_OK;
}

static inline sasl_callback_t swiftmta_sasl_callback_verifyfile(void) {
    sasl_callback_t callback = { SASL_CB_VERIFYFILE, (int (*)(void))swiftmta_sasl_verifyfile, NULL };
    return callback;
}

static inline void *swiftmta_sasl_mutex_alloc(void) {
    pthread_mutex_t *mutex = malloc(sizeof(pthread_mutex_t));
    if (mutex == NULL) return NULL;
    if (pthread_mutex_init(mutex, NULL) != 0) {
        free(mutex);
        return NULL;
    }
    return mutex;
}

static inline int swiftmta_sasl_mutex_lock(void *mutex) {
    return pthread_mutex_lock((pthread_mutex_t *)mutex) == 0 ? SASL_OK : SASL_FAIL;
}

static inline int swiftmta_sasl_mutex_unlock(void *mutex) {
    return pthread_mutex_unlock((pthread_mutex_t *)mutex) == 0 ? SASL_OK : SASL_FAIL;
}

static inline void swiftmta_sasl_mutex_free(void *mutex) {
    if (mutex == NULL) return;
    pthread_mutex_destroy((pthread_mutex_t *)mutex);
    free(mutex);
}

/// Real mutexes for libsasl2, whose own do nothing (it is thread-safe only with an application's).
/// Ignored by libsasl2 once it is initialised — for example by libldap, which installs its own,
/// equally real, pthread mutexes: a mutex allocated by either can be locked by the other.
static inline void swiftmta_sasl_use_pthread_mutexes(void) {
    sasl_set_mutex(swiftmta_sasl_mutex_alloc, swiftmta_sasl_mutex_lock, swiftmta_sasl_mutex_unlock,
                   swiftmta_sasl_mutex_free);
}

/// When libldap is loaded in the process, lets it run its one-time initialisation now. libldap
/// initialises libsasl2 itself (sasl_set_mutex, then sasl_client_init) the first time any ldap_*
/// function runs, under a lock of its own that the bridge cannot take; running it first, here, means
/// the two initialisations never overlap: another thread's first ldap_* call either already finished
/// it or waits for this one. Returns 1 when libldap was found.
static inline int swiftmta_sasl_initialize_libldap_first(void) {
    typedef int (*swiftmta_ldap_get_option_fn)(void *ld, int option, void *value);
    swiftmta_ldap_get_option_fn get_option = (swiftmta_ldap_get_option_fn)dlsym(RTLD_DEFAULT, "ldap_get_option");
    if (get_option == NULL) return 0;
    int version = 0;
    (void)get_option(NULL, 0x0011 /* LDAP_OPT_PROTOCOL_VERSION */, &version);
    return 1;
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
