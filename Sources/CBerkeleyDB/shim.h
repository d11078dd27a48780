// Berkeley DB (libdb, the 1.85-incompatible API that Sendmail's makemap and Postfix's postmap use).
// DB handles are structs of function pointers; these wrappers keep the Swift side to plain calls.
#ifndef SWIFTMTA_CBERKELEYDB_SHIM_H
#define SWIFTMTA_CBERKELEYDB_SHIM_H

#include <db.h>
#include <string.h>

static inline int swiftmta_db_open(DB *db, const char *path, DBTYPE type, u_int32_t flags, int mode) {
    return db->open(db, NULL, path, NULL, type, flags, mode);
}

static inline int swiftmta_db_close(DB *db) {
    return db->close(db, 0);
}

static inline int swiftmta_db_get(DB *db, const void *key, u_int32_t keyLength, DBT *value) {
    DBT k;
    memset(&k, 0, sizeof(k));
    k.data = (void *)key;
    k.size = keyLength;
    return db->get(db, NULL, &k, value, 0);
}

static inline int swiftmta_db_put(DB *db, const void *key, u_int32_t keyLength,
                                  const void *value, u_int32_t valueLength, u_int32_t flags) {
    DBT k, v;
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    k.data = (void *)key;
    k.size = keyLength;
    v.data = (void *)value;
    v.size = valueLength;
    return db->put(db, NULL, &k, &v, flags);
}

static inline int swiftmta_db_get_type(DB *db, DBTYPE *type) {
    return db->get_type(db, type);
}

static inline int swiftmta_db_cursor(DB *db, DBC **cursor) {
    return db->cursor(db, NULL, cursor, 0);
}

static inline int swiftmta_dbc_get(DBC *cursor, DBT *key, DBT *value, u_int32_t flags) {
    return cursor->get(cursor, key, value, flags);
}

static inline int swiftmta_dbc_close(DBC *cursor) {
    return cursor->close(cursor);
}

static inline int swiftmta_db_sync(DB *db) {
    return db->sync(db, 0);
}

/// Routes Berkeley DB's error messages to `call`, with `context` reachable from the environment
/// the handle made for itself (its app_private pointer).
static inline void swiftmta_db_set_errcall(DB *db, void *context,
                                           void (*call)(const DB_ENV *, const char *, const char *)) {
    db->dbenv->app_private = context;
    db->set_errcall(db, call);
}

static inline void *swiftmta_db_env_context(const DB_ENV *env) {
    return env == NULL ? NULL : env->app_private;
}

#endif
