divert(-1)dnl
# The TLS settings of this host (as Debian's update_tls writes them).
divert(0)dnl
ifdef(`sm_version', `dnl',
`include(`/usr/share/sendmail/cf/debian/autoconf.m4')dnl')
dnl #
ifelse(eval(sm_version_math >= 527104), `1', `dnl
ifelse(sm_enable_tls, `yes', `dnl
define(`confDONT_BLAME_SENDMAIL',dnl
    defn(`confDONT_BLAME_SENDMAIL')`,GroupReadableKeyFile')dnl
define(`confTO_STARTTLS', `2m')dnl
define(`confCACERT_PATH', `/etc/mail/tls/ca')dnl
define(`confSERVER_CERT', `/etc/mail/tls/sendmail-server.crt')dnl
define(`confSERVER_KEY',  `/etc/mail/tls/sendmail-common.key')dnl
define(`confCLIENT_CERT', `/etc/mail/tls/sendmail-client.crt')dnl
define(`confCLIENT_KEY',  `/etc/mail/tls/sendmail-common.key')dnl
define(`confDH_PARAMETERS',`/etc/mail/tls/sendmail-common.prm')dnl
define(`confTLS_SRV_OPTIONS', `V')dnl
')')dnl
