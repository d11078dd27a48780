/// What a finished handshake established: the facts Sendmail logs as
/// `STARTTLS=server, relay=…, version=TLSv1.3, verify=OK, cipher=…, bits=256/256` and writes into
/// `Received:` headers as `(version=TLSv1.3 cipher=… bits=256 verify=OK)`.
public struct TLSSessionFacts: Sendable, Hashable, CustomStringConvertible {
    /// The negotiated protocol version (`${tls_version}`).
    public let protocolVersion: TLSProtocolVersion
    /// The cipher suite in OpenSSL's naming (`${cipher}`): `TLS_AES_256_GCM_SHA384`,
    /// `ECDHE-RSA-AES256-GCM-SHA384`.
    public let cipher: String
    /// The cipher's effective key strength in bits (`${cipher_bits}`).
    public let cipherBits: Int
    /// The cipher algorithm's key size in bits (the second number of Sendmail's `bits=256/256`).
    public let cipherAlgorithmBits: Int
    /// The certificate the peer presented, if any (`${cert_subject}`, `${cert_issuer}`,
    /// `${cert_md5}`).
    public let peerCertificate: TLSCertificate?
    /// What verifying the peer found (`${verify}`).
    public let verification: TLSVerificationResult
    /// The server name the client sent (SNI, RFC 6066 §3), on either side; `nil` when none was.
    public let serverName: String?
    /// What DANE established, when the client asked for it (``TLSPeerVerification/dane(records:hostNames:)``):
    /// the server authenticated by a TLSA record, or no usable record and so TLS without
    /// authentication (RFC 7672 §2.2). `nil` without DANE and on the server side.
    public let dane: DANEOutcome?

    /// The TLSA record that authenticated the peer, when DANE did (RFC 7672 §3).
    public var matchedTLSARecord: TLSARecord? { dane?.matchedRecord }

    /// The facts as Sendmail logs them after `STARTTLS=server, relay=…, `:
    /// `version=TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256`.
    public var logFields: String {
        "version=\(protocolVersion), verify=\(verification.sendmailName), cipher=\(cipher), bits=\(cipherBits)/\(cipherAlgorithmBits)"
    }

    /// The comment Sendmail writes into the `Received:` header it adds:
    /// `(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=OK)`.
    public var receivedHeaderComment: String {
        "(version=\(protocolVersion) cipher=\(cipher) bits=\(cipherBits) verify=\(verification.sendmailName))"
    }

    /// ``logFields``, then the verification reason and the peer certificate's subject and issuer
    /// when there is one, as Sendmail's second log line has them.
    public var description: String {
        var text = logFields
        if case .failed(let reason) = verification { text += ", verifymsg=\(reason)" }
        if let peerCertificate {
            text += ", cert-subject=\(peerCertificate.subject), cert-issuer=\(peerCertificate.issuer)"
        }
        switch dane {
        case .authenticated(let record)?: text += ", dane=\(record.usage)"
        case .noUsableRecords?: text += ", dane=no-usable-records"
        case nil: break
        }
        return text
    }
}
