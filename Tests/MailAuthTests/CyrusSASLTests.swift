import MailAuth
import Testing

@Suite("Cyrus SASL (libsasl2)")
struct CyrusSASLTests {
    @Test("initialises once, however often it is called")
    func initialisesOnce() throws {
        try CyrusSASL.initialize()
        try CyrusSASL.initialize()
        #expect(CyrusSASL.version.hasPrefix("2."))
    }

    @Test("lists the mechanisms of the installed plugins")
    func listsMechanisms() throws {
        let mechanisms = try CyrusSASL.availableMechanisms()
        // libsasl2-modules ships these; the seed's server offers exactly these four.
        for name in ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"] {
            #expect(mechanisms.contains(name), "\(name) missing from \(mechanisms)")
        }
        #expect(mechanisms == mechanisms.sorted())
    }
}
