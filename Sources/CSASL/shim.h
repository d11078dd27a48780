// The Cyrus SASL (libsasl2) headers MailAuth uses.
#ifndef SWIFTMTA_CSASL_SHIM_H
#define SWIFTMTA_CSASL_SHIM_H

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#endif
