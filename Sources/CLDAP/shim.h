// The OpenLDAP client headers MailMapsLDAP uses.
#ifndef SWIFTMTA_CLDAP_SHIM_H
#define SWIFTMTA_CLDAP_SHIM_H

#include <lber.h>
#include <ldap.h>

#endif
