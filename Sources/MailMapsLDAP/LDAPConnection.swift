internal import CLDAP
public import MailMaps
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection to an LDAP server through the OpenLDAP client library (libldap).
///
/// The connection is made lazily by the first operation, as libldap does, and binds with its
/// ``LDAPCredentials`` first; a server that cannot be reached is reported then, as a
/// ``MailMapError`` of kind `unavailable`. When the server went away since the last operation,
/// the next one reconnects (and binds again) once before giving up, so a restarted server is
/// picked up without a restart of ours. Referrals are never followed: they would carry our
/// credentials to servers the answer names.
///
/// Operations are synchronous and serialised on the connection: call them off any event loop
/// (``LDAPMap`` runs them on its worker pool).
public final class LDAPConnection: Sendable {
    /// How far below the base a search looks (RFC 4511 §4.5.1.2).
    public enum Scope: Int32, Sendable {
        /// The base entry only.
        case base = 0
        /// The entries immediately below the base.
        case oneLevel = 1
        /// The base and everything below it.
        case subtree = 2
    }

    /// One entry a search returned: its DN and the values of the attributes asked for.
    public struct Entry: Hashable, Sendable {
        /// The entry's distinguished name.
        public var dn: String
        /// Attribute values by attribute name, as the search asked for them.
        public var attributes: [String: [String]]
    }

    /// The LDAP URI, or several separated by spaces (`ldap://127.0.0.1:3890/`).
    public let uri: String
    private let handle: Mutex<LDAPHandle>

    /// Prepares a connection to `uri`; nothing is sent until the first operation.
    ///
    /// - Parameters:
    ///   - uri: one or more space-separated LDAP URIs (`ldap://host:port/`, `ldapi://…`).
    ///   - timeout: how long connecting, and each operation, may take.
    ///   - credentials: how to bind before the first operation and after each reconnect.
    /// - Throws: ``MailMapError`` of kind `badSpec` when the URI does not parse.
    public init(uri: String, timeout: Duration = .seconds(5), credentials: LDAPCredentials = .anonymous) throws(MailMapError) {
        self.uri = uri
        self.handle = Mutex(try LDAPHandle(uri: uri, timeout: timeout, credentials: credentials))
    }

    /// Authenticates with a simple bind (RFC 4513 §5.1); `dn` and `password` `nil` is an anonymous
    /// bind. Later reconnects bind the same way. The password never appears in an error.
    public func bind(dn: String?, password: String?) throws(MailMapError) {
        let credentials: LDAPCredentials = dn == nil && password == nil
            ? .anonymous : .simple(dn: dn ?? "", password: LDAPPassword(password ?? ""))
        try bind(credentials)
    }

    /// Binds with `credentials` now; later reconnects bind the same way.
    ///
    /// - Throws: ``MailMapError``: `lookupFailed` for refused credentials (naming the DN, never the
    ///   password), `unavailable` when the server cannot be reached.
    public func bind(_ credentials: LDAPCredentials) throws(MailMapError) {
        try handle.withLock { (ldap) throws(MailMapError) in try ldap.bind(credentials) }
    }

    /// Searches and returns the entries found, with the values of `attributes`.
    ///
    /// - Parameter sizeLimit: the most entries the server may return; 0 for its own limit.
    /// - Throws: ``MailMapError``: `unavailable` when the server cannot be reached or does not
    ///   answer in time, `lookupFailed` for an error result (a bad filter, no such base, more
    ///   entries than `sizeLimit`).
    public func search(
        base: String, scope: Scope, filter: String, attributes: [String], sizeLimit: Int = 0
    ) throws(MailMapError) -> [Entry] {
        try handle.withLock { (ldap) throws(MailMapError) -> [Entry] in
            try ldap.search(base: base, scope: scope, filter: filter, attributes: attributes, sizeLimit: sizeLimit)
        }
    }
}

/// Owns one `LDAP*` at a time, replacing it when the server went away. Not thread-safe by itself:
/// ``LDAPConnection`` serialises calls.
final class LDAPHandle {
    private var ld: OpaquePointer
    private let uri: String
    private var timeout: timeval
    private var credentials: LDAPCredentials
    private var isBound = false

    init(uri: String, timeout: Duration, credentials: LDAPCredentials) throws(MailMapError) {
        self.uri = uri
        self.credentials = credentials
        let seconds = timeout.components.seconds
        let microseconds = timeout.components.attoseconds / 1_000_000_000_000
        self.timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(microseconds))
        self.ld = try Self.open(uri: uri, timeout: &self.timeout)
    }

    private static func open(uri: String, timeout: inout timeval) throws(MailMapError) -> OpaquePointer {
        var created: OpaquePointer?
        let status = ldap_initialize(&created, uri)
        guard status == LDAP_SUCCESS, let created else {
            throw MailMapError(.badSpec, map: "ldap:\(uri)", message: "LDAP URI \"\(uri)\" does not parse: \(reason(status))")
        }
        var version: Int32 = LDAP_VERSION3
        _ = ldap_set_option(created, LDAP_OPT_PROTOCOL_VERSION, &version)
        _ = ldap_set_option(created, LDAP_OPT_NETWORK_TIMEOUT, &timeout)
        _ = ldap_set_option(created, LDAP_OPT_TIMEOUT, &timeout)
        // Referrals would reconnect to servers named by the answer, with our credentials.
        _ = ldap_set_option(created, LDAP_OPT_REFERRALS, nil)
        return created
    }

    /// Runs `operation` (binding first if needed); when it finds the server gone, reconnects,
    /// binds again, and retries once.
    private func withReconnect<T>(_ operation: () -> (Int32, T)) throws(MailMapError) -> (Int32, T) {
        if !isBound, case .anonymous = credentials {
            isBound = true
        } else if !isBound {
            let status = bindOnce()
            if status == LDAP_SUCCESS {
                isBound = true
            } else if status != LDAP_SERVER_DOWN {
                throw error(status, doing: credentials.description)
            }
        }
        if isBound {
            let first = operation()
            guard first.0 == LDAP_SERVER_DOWN else { return first }
        }
        let replacement = try Self.open(uri: uri, timeout: &timeout)
        ldap_unbind_ext_s(ld, nil, nil)
        ld = replacement
        isBound = false
        if case .anonymous = credentials {
            isBound = true
        } else {
            let status = bindOnce()
            guard status == LDAP_SUCCESS else { throw error(status, doing: credentials.description) }
            isBound = true
        }
        return operation()
    }

    private func bindOnce() -> Int32 {
        switch credentials {
        case .anonymous:
            return LDAP_SUCCESS
        case .simple(let dn, let password):
            return password.withCString { secret -> Int32 in
                var value = berval(bv_len: ber_len_t(password.count), bv_val: secret)
                return ldap_sasl_bind_s(ld, dn, nil, &value, nil, nil, nil)
            }
        case .sasl(let mechanism, let authenticationID, let authorizationID, let password, let realm):
            let copies = [authenticationID, authorizationID, realm].map { $0.map { strdup($0) } ?? nil }
            defer { copies.forEach { free($0) } }
            let bind = { (secret: UnsafeMutablePointer<CChar>?) -> Int32 in
                var defaults = swiftmta_sasl_defaults(
                    authcid: UnsafePointer(copies[0]), authzid: UnsafePointer(copies[1]),
                    password: UnsafePointer(secret), realm: UnsafePointer(copies[2]))
                return swiftmta_ldap_sasl_bind(self.ld, mechanism, &defaults)
            }
            if let password {
                return password.withCString { bind($0) }
            }
            return bind(nil)
        }
    }

    func bind(_ credentials: LDAPCredentials) throws(MailMapError) {
        self.credentials = credentials
        isBound = false
        let (status, _) = try withReconnect { (LDAP_SUCCESS, ()) }
        guard status == LDAP_SUCCESS else { throw error(status, doing: credentials.description) }
    }

    func search(
        base: String, scope: LDAPConnection.Scope, filter: String, attributes: [String], sizeLimit: Int
    ) throws(MailMapError) -> [LDAPConnection.Entry] {
        var names = attributes.map { strdup($0) }
        names.append(nil)
        defer { names.forEach { free($0) } }
        let limit = Int32(clamping: sizeLimit)
        let (status, result) = try withReconnect { () -> (Int32, OpaquePointer?) in
            var result: OpaquePointer?
            let status = names.withUnsafeMutableBufferPointer { buffer in
                ldap_search_ext_s(ld, base, scope.rawValue, filter, buffer.baseAddress, 0, nil, nil, &timeout, limit, &result)
            }
            if status != LDAP_SUCCESS, let failed = result {
                ldap_msgfree(failed)
                return (status, nil)
            }
            return (status, result)
        }
        defer { if let result { ldap_msgfree(result) } }
        guard status == LDAP_SUCCESS else {
            throw error(status, doing: "search \(base) for \(filter)")
        }
        var entries: [LDAPConnection.Entry] = []
        var entry = ldap_first_entry(ld, result)
        while let current = entry {
            var dn = ""
            if let text = ldap_get_dn(ld, current) {
                dn = String(cString: text)
                ldap_memfree(text)
            }
            var values: [String: [String]] = [:]
            for name in attributes {
                guard let list = ldap_get_values_len(ld, current, name) else { continue }
                defer { ldap_value_free_len(list) }
                var strings: [String] = []
                var cursor = list
                while let value = cursor.pointee {
                    let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                    strings.append(String(decoding: bytes, as: UTF8.self))
                    cursor += 1
                }
                values[name] = strings
            }
            entries.append(LDAPConnection.Entry(dn: dn, attributes: values))
            entry = ldap_next_entry(ld, current)
        }
        return entries
    }

    private func error(_ status: Int32, doing operation: String) -> MailMapError {
        let unreachable = status == LDAP_SERVER_DOWN || status == LDAP_TIMEOUT || status == LDAP_CONNECT_ERROR
        return MailMapError(
            unreachable ? .unavailable : .lookupFailed,
            map: "ldap:\(uri)",
            message: "LDAP \(uri): \(operation) failed: \(Self.reason(status))")
    }

    static func reason(_ status: Int32) -> String {
        ldap_err2string(status).map { String(cString: $0) } ?? "LDAP error \(status)"
    }

    deinit {
        ldap_unbind_ext_s(ld, nil, nil)
    }
}
