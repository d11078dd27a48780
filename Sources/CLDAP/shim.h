// The OpenLDAP client headers MailMapsLDAP uses, and the SASL interaction callback that
// ldap_sasl_interactive_bind_s needs (Cyrus SASL asks for the names and password through it).
#ifndef SWIFTMTA_CLDAP_SHIM_H
#define SWIFTMTA_CLDAP_SHIM_H

#include <lber.h>
#include <ldap.h>
#include <sasl/sasl.h>
#include <string.h>

/// What a SASL bind may be asked for. The strings belong to the caller and stay valid for the
/// whole bind; NULL means "not given".
typedef struct swiftmta_sasl_defaults {
    const char *authcid;
    const char *authzid;
    const char *password;
    const char *realm;
} swiftmta_sasl_defaults;

static inline int swiftmta_sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *list) {
    (void)ld;
    (void)flags;
    const swiftmta_sasl_defaults *given = (const swiftmta_sasl_defaults *)defaults;
    for (sasl_interact_t *item = (sasl_interact_t *)list; item->id != SASL_CB_LIST_END; item++) {
        const char *answer = NULL;
        switch (item->id) {
        case SASL_CB_AUTHNAME: answer = given->authcid; break;
        case SASL_CB_USER: answer = given->authzid; break;
        case SASL_CB_PASS: answer = given->password; break;
        case SASL_CB_GETREALM: answer = given->realm; break;
        default: break;
        }
        if (answer == NULL) answer = item->defresult != NULL ? item->defresult : "";
        item->result = answer;
        item->len = (unsigned)strlen(answer);
    }
    return LDAP_SUCCESS;
}

/// A SASL bind with `mechanism` (EXTERNAL, PLAIN, DIGEST-MD5, …), answering the library's
/// questions from `defaults`, without prompting.
static inline int swiftmta_ldap_sasl_bind(LDAP *ld, const char *mechanism, swiftmta_sasl_defaults *defaults) {
    return ldap_sasl_interactive_bind_s(ld, NULL, mechanism, NULL, NULL, LDAP_SASL_QUIET,
                                        swiftmta_sasl_interact, defaults);
}

#endif
