/// What Debian's sendmail packages put in the files a Debian `sendmail.mc` includes, for when
/// the import runs where those files are not (another machine, a copy of /etc/mail without
/// them). Each is the settings the file makes, written as m4 as the file makes them; the file
/// itself is read whenever it is there.
enum MCStandardFiles {
    /// The settings of `path` as Debian ships it, or `nil` for a file Debian does not ship.
    static func include(_ path: String) -> String? {
        if path == "/etc/mail/tls/starttls.m4" { return starttls }
        if path == "/etc/mail/sasl/sasl.m4" { return sasl }
        return nil
    }

    /// The settings of `DOMAIN(name)` as Debian ships them, or `nil`.
    static func domain(_ name: String) -> String? {
        name == "debian-mta" ? debianMTA : nil
    }

    /// Debian's autoconf.m4 (sendmail 8.17.1): the version and what the build has.
    static let autoconf: [(String, String)] = [
        ("sm_version", "8.17.1.9"), ("sm_version_math", "528641"), ("sm_version_v", "8"), ("sm_version_r", "17"),
        ("sm_version_major", "8.17"), ("sm_version_minor", "1"), ("sm_enable_tls", "yes"), ("sm_enable_auth", "yes"),
        ("sm_auth_lib", "2"), ("sm_enable_ipv6", "yes"), ("sm_enable_milter", "yes"), ("sm_enable_ldap", "yes"),
        ("sm_enable_newdb", "yes"), ("sm_enable_regex", "yes"),
    ]

    /// `/etc/mail/tls/starttls.m4` as Debian's update_tls writes it: the certificate, key and CA
    /// files under /etc/mail/tls and the system's CA folder.
    static let starttls = """
        ifdef(`sm_version', `dnl', `include(`/usr/share/sendmail/cf/debian/autoconf.m4')dnl')dnl
        define(`confDONT_BLAME_SENDMAIL', defn(`confDONT_BLAME_SENDMAIL')`,GroupReadableKeyFile')dnl
        define(`confTO_STARTTLS', `2m')dnl
        define(`confCACERT_PATH', `/etc/ssl/certs')dnl
        define(`confCACERT', `/etc/mail/tls/sendmail-server.crt')dnl
        define(`confSERVER_CERT', `/etc/mail/tls/sendmail-server.crt')dnl
        define(`confSERVER_KEY', `/etc/mail/tls/sendmail-common.key')dnl
        define(`confCLIENT_CERT', `/etc/mail/tls/sendmail-client.crt')dnl
        define(`confCLIENT_KEY', `/etc/mail/tls/sendmail-common.key')dnl
        define(`confDH_PARAMETERS', `/etc/mail/tls/sendmail-common.prm')dnl
        define(`confTLS_SRV_OPTIONS', `')dnl

        """

    /// `/etc/mail/sasl/sasl.m4` as Debian's update_auth writes it (sendmail 8.17).
    static let sasl = """
        ifdef(`sm_version', `dnl', `include(`/usr/share/sendmail/cf/debian/autoconf.m4')dnl')dnl
        define(`confTO_AUTH', `2m')dnl
        define(`confAUTH_MECHANISMS', `EXTERNAL DIGEST-MD5 CRAM-MD5 PLAIN LOGIN')dnl
        TRUST_AUTH_MECH(`EXTERNAL DIGEST-MD5 CRAM-MD5 PLAIN LOGIN')dnl
        define(`confDONT_BLAME_SENDMAIL', defn(`confDONT_BLAME_SENDMAIL')`,GroupReadableSASLDBFile,GroupWritableSASLDBFile')dnl

        """

    /// `DOMAIN(`debian-mta')`: Debian's files and processes, its timeouts and privacy flags.
    static let debianMTA = """
        ifdef(`sm_version', `dnl', `include(`/usr/share/sendmail/cf/debian/autoconf.m4')dnl')dnl
        define(`DEBIAN_MTA')dnl
        define(`STATUS_FILE', `/var/lib/sendmail/sendmail.st')dnl
        define(`confHOST_STATUS_DIRECTORY', `/var/lib/sendmail/host_status')dnl
        define(`confPID_FILE', `/var/run/sendmail/mta/sendmail.pid')dnl
        define(`confCONTROL_SOCKET_NAME', `/var/run/sendmail/mta/smcontrol')dnl
        define(`confPROCESS_TITLE_PREFIX', `MTA')dnl
        define(`confMAX_DAEMON_CHILDREN', `0')dnl
        define(`confSAFE_FILE_ENV', `/')dnl
        define(`confSAFE_QUEUE', `True')dnl
        define(`confQUEUE_FILE_MODE', `0640')dnl
        define(`confTEMP_FILE_MODE', `0640')dnl
        define(`confTO_COMMAND', `5m')dnl
        define(`confMAX_HOP', `100')dnl
        define(`confPRIVACY_FLAGS', `restrictqrun,restrictexpand')dnl
        define(`confTRUSTED_USER', `smmta')dnl
        define(`confMAX_RUNNERS_PER_QUEUE', `5')dnl

        """
}
