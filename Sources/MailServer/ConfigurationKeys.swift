/// Every key a configuration file may hold, by table: the one list that the reader checks against
/// (an unknown key is an error) and that docs/configuration.md must describe (a test checks it).
package enum ConfigurationKeys {
    /// The tables and their keys; `""` is the top level, `relay.dnsbl` the entries of that array.
    package static let tables: [(table: String, keys: [String])] = [
        ("", ["hostname", "local_host_names", "virtuser_domains", "relay_domains", "local_users", "local_names",
              "maps", "routing", "relay", "auth", "tls", "smtp", "listen", "dns", "queue", "local", "daemon"]),
        ("maps", ["virtusertable", "access", "mailertable", "authinfo", "aliases", "tls_policy"]),
        ("routing", ["smart_host", "relay_mailer", "relay_mailer_port", "masquerade_as", "masquerade_envelope",
                     "masquerade_domains", "exposed_users"]),
        ("relay", ["relay_based_on_mx", "blacklist_recipients", "blocklist_recipients", "delay_checks", "dnsbl",
                   "accept_unresolvable_domains", "accept_unqualified_senders"]),
        ("relay.dnsbl", ["zone", "message"]),
        ("auth", ["mechanisms", "trusted_mechanisms", "options", "backend", "sasldb", "sasl_config", "realm",
                  "failure_delay", "max_failure_delay"]),
        ("tls", ["certificate", "key", "ca_path", "ca_file", "client_certificate", "client_key", "self_signed", "min_version"]),
        ("smtp", ["greeting", "privacy", "help_file", "max_message_size", "max_recipients", "command_timeout",
                  "received_header_user", "shutdown_grace_period"]),
        ("queue", ["directory", "min_queue_age", "max_queue_age", "queuewarn", "queuereturn", "delivery_mode",
                   "destination_concurrency", "messages_in_flight", "connection_reuse", "connection_idle"]),
        ("local", ["mail_directory", "mailbox_format"]),
        ("listen", ["address", "mode", "max_connections", "max_connections_per_client"]),
        ("dns", ["nameservers", "reverse_lookups", "hosts_file"]),
        ("daemon", ["user", "group", "metrics_address"]),
    ]

    /// The keys of `table`.
    static func allowed(_ table: String) -> Set<String> {
        Set(tables.first { $0.table == table }?.keys ?? [])
    }
}
