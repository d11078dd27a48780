internal import CSASL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The credentials a libsasl2 client connection's callbacks hand out (SASL_CB_USER, AUTHNAME,
/// PASS, GETREALM), as C memory that lives as long as the connection; the password is overwritten
/// when freed.
final class CyrusSASLClientSecrets: @unchecked Sendable {
    private let authorizationIdentity: UnsafeMutablePointer<CChar>
    private let authenticationIdentity: UnsafeMutablePointer<CChar>
    private let realm: UnsafeMutablePointer<CChar>?
    private let secret: UnsafeMutablePointer<sasl_secret_t>?

    init(_ credentials: SASLClientCredentials) {
        authorizationIdentity = strdup(credentials.authorizationIdentity ?? "")
        authenticationIdentity = strdup(credentials.authenticationIdentity)
        realm = credentials.realm.map { strdup($0) }
        secret = credentials.password.bytes.withUnsafeBufferPointer {
            swiftmta_sasl_secret_new($0.baseAddress, UInt($0.count))
        }
    }

    deinit {
        free(authorizationIdentity)
        free(authenticationIdentity)
        if let realm { free(realm) }
        swiftmta_sasl_secret_free(secret)
    }

    static let simple: swiftmta_sasl_simple_fn = { context, id, result, length in
        guard let context, let result else { return SASL_BADPARAM }
        let secrets = Unmanaged<CyrusSASLClientSecrets>.fromOpaque(context).takeUnretainedValue()
        let value: UnsafeMutablePointer<CChar>
        switch id {
        case SASL_CB_USER: value = secrets.authorizationIdentity
        case SASL_CB_AUTHNAME: value = secrets.authenticationIdentity
        default: return SASL_BADPARAM
        }
        result.pointee = UnsafePointer(value)
        length?.pointee = UInt32(strlen(value))
        return SASL_OK
    }

    static let password: swiftmta_sasl_secret_fn = { _, context, id, result in
        guard let context, let result, id == SASL_CB_PASS else { return SASL_BADPARAM }
        let secrets = Unmanaged<CyrusSASLClientSecrets>.fromOpaque(context).takeUnretainedValue()
        guard let secret = secrets.secret else { return SASL_NOMEM }
        result.pointee = secret
        return SASL_OK
    }

    static let getrealm: swiftmta_sasl_getrealm_fn = { context, _, available, result in
        guard let context, let result else { return SASL_BADPARAM }
        let secrets = Unmanaged<CyrusSASLClientSecrets>.fromOpaque(context).takeUnretainedValue()
        if let realm = secrets.realm {
            result.pointee = UnsafePointer(realm)
        } else {
            result.pointee = available?.pointee
        }
        return SASL_OK
    }
}
