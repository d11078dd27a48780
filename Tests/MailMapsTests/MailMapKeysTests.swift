import MailMaps
import Testing

@Suite("search keys: domains, networks, tags")
struct MailMapKeysTests {
    @Test("a domain and its parents (access map)")
    func domainAndParents() {
        #expect(MailMapKeys.domainAndParents("chicago.il.uu.net") == ["chicago.il.uu.net", "il.uu.net", "uu.net", "net"])
        #expect(MailMapKeys.domainAndParents("localhost") == ["localhost"])
        #expect(MailMapKeys.domainAndParents("a.b.c.") == ["a.b.c", "b.c", "c"])
        #expect(MailMapKeys.domainAndParents("[192.0.2.1]") == ["[192.0.2.1]"])
        #expect(MailMapKeys.domainAndParents("").isEmpty)
    }

    @Test("a host and its dotted suffixes (mailertable), with %1")
    func domainSuffixes() {
        #expect(MailMapKeys.domainSuffixes("foo.darknet.lan") == ["foo.darknet.lan", ".darknet.lan", ".lan"])
        #expect(MailMapKeys.domainSuffixes("foo.darknet.lan", includingRoot: true) == ["foo.darknet.lan", ".darknet.lan", ".lan", "."])
        #expect(MailMapKeys.domainSuffixes("a.b.c") == ["a.b.c", ".b.c", ".c"])
        #expect(MailMapKeys.wildcardPart(of: "hosta.private.lan", matching: ".lan") == "hosta.private")
        #expect(MailMapKeys.wildcardPart(of: "hosta.private.lan", matching: ".private.lan") == "hosta")
        #expect(MailMapKeys.wildcardPart(of: "hosta.Private.LAN", matching: ".private.lan") == "hosta")
        #expect(MailMapKeys.wildcardPart(of: "darknet.lan", matching: ".darknet.lan") == nil)
        #expect(MailMapKeys.wildcardPart(of: "somedom.com", matching: ".") == "somedom.com")
    }

    @Test("an IPv4 address and its networks")
    func ipv4() {
        #expect(MailMapKeys.addressAndNetworks("206.10.252.103") == ["206.10.252.103", "206.10.252", "206.10", "206"])
        #expect(MailMapKeys.addressAndNetworks("[206.10.252.103]") == ["206.10.252.103", "206.10.252", "206.10", "206"])
        #expect(MailMapKeys.addressAndNetworks("::ffff:206.10.252.103") == ["206.10.252.103", "206.10.252", "206.10", "206"])
    }

    @Test("an IPv6 address and its networks, tagged IPv6: as Sendmail writes them")
    func ipv6() {
        #expect(MailMapKeys.addressAndNetworks("2002:c0a8:51d2::23f4") == [
            "IPv6:2002:c0a8:51d2::23f4",
            "IPv6:2002:c0a8:51d2:0:0:0:0:23f4",
            "IPv6:2002:c0a8:51d2:0:0:0:0",
            "IPv6:2002:c0a8:51d2:0:0:0",
            "IPv6:2002:c0a8:51d2:0:0",
            "IPv6:2002:c0a8:51d2:0",
            "IPv6:2002:c0a8:51d2",
            "IPv6:2002:c0a8",
            "IPv6:2002",
        ])
        #expect(MailMapKeys.addressAndNetworks("IPv6:2002:C0A8:51D2::23F4").first == "IPv6:2002:c0a8:51d2::23f4")
        #expect(MailMapKeys.addressAndNetworks("[IPv6:1:2:3:4:5:6:7:8]").prefix(2) == ["IPv6:1:2:3:4:5:6:7:8", "IPv6:1:2:3:4:5:6:7"])
        #expect(MailMapKeys.addressAndNetworks("mail.example.com") == ["mail.example.com"])
    }

    @Test("DNSBL query names (RFC 5782)")
    func dnsblNames() {
        #expect(MailMapKeys.dnsblName(for: "192.0.2.99", zone: "zen.example") == "99.2.0.192.zen.example")
        #expect(MailMapKeys.dnsblName(for: "2001:db8:1:2:3:4:567:89ab", zone: "zen.example")
            == "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.example")
        #expect(MailMapKeys.dnsblName(for: "not an address", zone: "zen.example") == nil)
    }

    @Test("tagged keys")
    func tags() {
        #expect(MailMapTag.connect.key("206.10.252") == "Connect:206.10.252")
        #expect(MailMapTag.from.keys(["a.b", "b"]) == ["From:a.b", "From:b"])
        #expect(MailMapTag.to.description == "To:")
        #expect(MailMapTag.authInfo.key("mailserver.somedom.com") == "AuthInfo:mailserver.somedom.com")
        #expect(MailMapTag("Spam").key("abuse@") == "Spam:abuse@")
        #expect(MailMapTag.connect.keys(MailMapKeys.addressAndNetworks("206.10.252.103"), includingUntagged: true).prefix(4)
            == ["Connect:206.10.252.103", "206.10.252.103", "Connect:206.10.252", "206.10.252"])
    }
}
