/// The examples each command's help ends with (`swiftmta serve --help`) and the reference shows:
/// by command path (`auth add`), each a command line and what it does. Every command has some;
/// the reference test fails for one that has none.
enum CommandExamples {
    struct Example {
        let command: String
        let explanation: String
    }

    static let table: [String: [Example]] = [
        "": [
            Example(command: "swiftmta serve", explanation: "Run the server on its embedded default (loopback ports 2525, 2587, 2465; files in ./var)."),
            Example(command: "swiftmta help route", explanation: "The help of one command, with examples."),
            Example(command: "swiftmta --version", explanation: "The version."),
        ],
        "serve": [
            Example(command: "swiftmta serve", explanation: "The embedded default: smtp 127.0.0.1:2525, submission 2587, smtps 2465; a self-signed certificate and the AUTH users under ./var."),
            Example(command: "swiftmta serve --config /etc/swiftmta/swiftmta.toml", explanation: "Started as root: binds ports 25, 465 and 587, reads the keys, then runs as the [daemon] user."),
            Example(command: "swiftmta serve --config swiftmta.toml --hostname mx.example.org --log-level debug", explanation: "Announce another host name and log every session step."),
            Example(command: "kill -HUP $(pidof swiftmta)", explanation: "Reload the configuration and every map; open connections stay (a broken file is refused, the old one keeps serving)."),
            Example(command: "kill -TERM $(pidof swiftmta)", explanation: "Stop gracefully: no new connections, 421 at each session's next command, then the grace period."),
        ],
        "auth": [
            Example(command: "swiftmta auth add alice", explanation: "Add alice to ./var/auth/passwd (the password is read on standard input)."),
            Example(command: "swiftmta auth list --config /etc/swiftmta/swiftmta.toml", explanation: "The users of the password file the configuration's [auth] backend names."),
        ],
        "auth add": [
            Example(command: "swiftmta auth add alice", explanation: "Add alice to ./var/auth/passwd, reading the password on standard input (SCRAM and PLAIN/LOGIN verifiers only)."),
            Example(command: "printf '%s\\n' \"$PASSWORD\" | swiftmta auth add --config /etc/swiftmta/swiftmta.toml alice", explanation: "Set alice's password in the file the configuration names."),
            Example(command: "swiftmta auth add --store-plaintext --file /etc/swiftmta/passwd bob", explanation: "Also store the password itself, which CRAM-MD5 and DIGEST-MD5 need."),
        ],
        "auth list": [
            Example(command: "swiftmta auth list", explanation: "The users of ./var/auth/passwd and the kinds of credential each has."),
            Example(command: "swiftmta auth list --file /etc/swiftmta/passwd", explanation: "The users of another file."),
        ],
        "auth remove": [
            Example(command: "swiftmta auth remove alice", explanation: "Remove alice from ./var/auth/passwd."),
            Example(command: "swiftmta auth remove --config /etc/swiftmta/swiftmta.toml alice", explanation: "Remove her from the file the configuration names."),
        ],
        "check-config": [
            Example(command: "swiftmta check-config /etc/swiftmta/swiftmta.toml", explanation: "Every error with its file, line and key (and unsafe key or password file permissions), or what the server would run."),
            Example(command: "swiftmta check-config /etc/swiftmta/swiftmta.toml && systemctl reload swiftmta", explanation: "Check an edited configuration before the running server reloads it."),
        ],
        "check": [
            Example(command: "swiftmta check server mx.example.org", explanation: "Probe a server from outside: open relay, smuggling, STARTTLS, AUTH before TLS."),
            Example(command: "swiftmta check session --client-ip 192.0.2.1 < session.txt", explanation: "Run a scripted session through the server's code."),
        ],
        "check server": [
            Example(command: "swiftmta check server mx.example.org", explanation: "Probe port 25 of mx.example.org."),
            Example(command: "swiftmta check server 127.0.0.1:2525 --recipient postmaster@localhost --ca-file var/tls/cert.pem", explanation: "Probe the local server, smuggling probes included, trusting its self-signed certificate."),
            Example(command: "swiftmta check server mx.example.org:587 --json", explanation: "The findings as JSON."),
        ],
        "check session": [
            Example(command: "printf 'EHLO client.example\\r\\nMAIL FROM:<a@example.org>\\r\\nQUIT\\r\\n' | swiftmta check session --client-ip 192.0.2.1", explanation: "What the embedded default answers a client at 192.0.2.1."),
            Example(command: "swiftmta check session --config swiftmta.toml --client-ip 198.51.100.7 --tls --auth PLAIN:alice < session.txt", explanation: "A session under TLS, authenticated as alice."),
        ],
        "route": [
            Example(command: "swiftmta route --config swiftmta.toml alice@example.org", explanation: "How the address is routed, and which map entry decides it."),
            Example(command: "swiftmta route --config swiftmta.toml --client-ip 192.0.2.1 --sender bob@example.net postmaster@example.org", explanation: "Also the MAIL and RCPT answers a client at 192.0.2.1 gets."),
            Example(command: "swiftmta route --config swiftmta.toml --json alice", explanation: "A local name's route as JSON."),
        ],
        "makemap": [
            Example(command: "swiftmta makemap hash /etc/swiftmta/access < /etc/swiftmta/access", explanation: "Build access.db from its text, as Sendmail's makemap hash does."),
            Example(command: "swiftmta makemap -N --postmap-input hash virtual < virtual", explanation: "Build a map from Postfix's postmap input (keys stored with a trailing NUL)."),
        ],
        "map": [
            Example(command: "swiftmta map query hash:/etc/swiftmta/access example.org", explanation: "The value of one key."),
            Example(command: "swiftmta map dump hash:/etc/swiftmta/virtusertable", explanation: "Every entry."),
        ],
        "map query": [
            Example(command: "swiftmta map query hash:/etc/swiftmta/access Connect:192.0.2.1", explanation: "The access entry of a client address."),
            Example(command: "swiftmta map query --nameserver 127.0.0.1:5353 'dns:-R MX' example.org", explanation: "A dns: map (the domain's MX records), asking a given nameserver."),
        ],
        "map dump": [
            Example(command: "swiftmta map dump hash:/etc/swiftmta/virtusertable", explanation: "Every entry as key<TAB>value."),
            Example(command: "swiftmta map dump 'hash:-N /etc/postfix/virtual'", explanation: "A map postmap built (keys end in a NUL byte)."),
        ],
        "queue": [
            Example(command: "swiftmta queue list --config /etc/swiftmta/swiftmta.toml", explanation: "The messages in the spool (as mailq lists them)."),
            Example(command: "swiftmta queue show 1xYN612N1U --config /etc/swiftmta/swiftmta.toml", explanation: "One message's envelope, recipients and their last attempts."),
            Example(command: "swiftmta queue run -v --config /etc/swiftmta/swiftmta.toml", explanation: "Try every message that is due now, showing each SMTP dialogue."),
            Example(command: "swiftmta queue flush --config /etc/swiftmta/swiftmta.toml", explanation: "Try every message now, due or not."),
            Example(command: "swiftmta queue remove 1xYN612N1U --config /etc/swiftmta/swiftmta.toml", explanation: "Remove a message from the spool."),
        ],
        "sendmail": [
            Example(command: "printf 'Subject: test\\n\\nhello\\n' | swiftmta sendmail -f alice@example.org bob@example.net", explanation: "Queue a message for bob, as /usr/sbin/sendmail does."),
            Example(command: "swiftmta sendmail -t -oi < message.eml", explanation: "The recipients from the message's To:, Cc: and Bcc:."),
            Example(command: "ln -s /usr/local/bin/swiftmta /usr/sbin/sendmail; ln -s /usr/local/bin/swiftmta /usr/bin/mailq", explanation: "Installed under Sendmail's names, the binary is Sendmail's command line."),
            Example(command: "swiftmta sendmail -bv postmaster@example.org", explanation: "How an address would be delivered, without sending anything."),
        ],
        "import-mc": [
            Example(command: "swiftmta import-mc /etc/mail/sendmail.mc --out /etc/swiftmta/swiftmta.toml", explanation: "Import this host's Sendmail configuration: the configuration, imported-access beside it, and the report."),
            Example(command: "swiftmta import-mc old-etc-mail/sendmail.mc --maps old-etc-mail --hostname mx.example.org --out swiftmta.toml", explanation: "Import a copy of another host's /etc/mail: its files are looked for under --maps."),
            Example(command: "swiftmta import-mc /etc/mail/sendmail.mc --out swiftmta.toml --force --check", explanation: "Import again and route addresses with the result beside sendmail -bt's answers."),
        ],
        "send": [
            Example(command: "swiftmta send --server 127.0.0.1:2525 --from alice@example.org --to bob@localhost < message.eml", explanation: "Send a message to the local server (STARTTLS when offered)."),
            Example(command: "swiftmta send --server smtp.example.org:587 --starttls --auth-user alice --password-file ~/.smtp-password --from alice@example.org --to bob@example.net < message.eml", explanation: "Through a smart host: STARTTLS required, then AUTH."),
            Example(command: "swiftmta send --mx --from alice@example.org --to bob@example.net -v < message.eml", explanation: "Straight to the recipient domain's MX, printing each reply."),
        ],
    ]
}
