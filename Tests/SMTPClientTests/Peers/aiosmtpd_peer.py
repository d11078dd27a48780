#!/usr/bin/env python3
"""A real SMTP server for the SMTPClient tests: Python's aiosmtpd on a loopback port it picks.

Prints "PORT n" once it listens, then one JSON line per message it takes (envelope and text, the
text base64) to the file given with --log. Options:
  --starttls CERT KEY     offer STARTTLS with this certificate
  --user NAME:PASSWORD    offer AUTH PLAIN and LOGIN (after STARTTLS unless --auth-without-tls)
  --size N                advertise SIZE N
  --refuse RCPT           answer RCPT TO:<RCPT> with 550 5.1.1
  --close-at-rcpt N       answer the Nth RCPT of a session with 421 and close
  --client-ca CA          ask for a client certificate and require that CA to have signed it
  --smtputf8              offer SMTPUTF8
  --implicit-tls          TLS from the first byte (port 465 style) with the --starttls certificate
  --oauth-token TOKEN     offer XOAUTH2 and accept this bearer token
  --external              offer EXTERNAL: the TLS client certificate's name is the identity
"""
import argparse, asyncio, base64, json, ssl, sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.rcpts = {}
        self.authzid = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        count = self.rcpts.get(id(session), 0) + 1
        self.rcpts[id(session)] = count
        if self.args.close_at_rcpt and count == self.args.close_at_rcpt:
            server.transport.write(b"421 4.3.2 Service shutting down, closing transmission channel\r\n")
            server.transport.close()
            return "421 4.3.2 closing"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    @staticmethod
    def peer_name(server):
        ssl_object = server.transport.get_extra_info("ssl_object")
        certificate = ssl_object.getpeercert() if ssl_object else None
        return dict(x[0] for x in (certificate or {}).get("subject", ())).get("commonName")

    async def auth_PLAIN(self, server, args):
        """PLAIN (RFC 4616) that keeps the authorization identity for the log."""
        data = base64.b64decode(args[1]) if len(args) == 2 and args[1] != "=" else await server.challenge_auth("")
        parts = data.split(b"\x00")
        if len(parts) == 3:
            users = self.args.users
            if users.get(parts[1]) == parts[2]:
                self.authzid[id(server.session)] = parts[0].decode()
                return AuthResult(success=True, auth_data=LoginPassword(parts[1], parts[2]))
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server, args):
        """XOAUTH2 as Google's and Microsoft's servers take it: user=…^Aauth=Bearer TOKEN^A^A."""
        data = base64.b64decode(args[1]) if len(args) == 2 else await server.challenge_auth("")
        fields = dict(f.split("=", 1) for f in data.decode("utf-8", "replace").split("\x01") if "=" in f)
        if self.args.oauth_token and fields.get("auth") == "Bearer " + self.args.oauth_token:
            return AuthResult(success=True, auth_data=LoginPassword(fields.get("user", "").encode(), b""))
        await server.challenge_auth('{"status":"401","schemes":"bearer","scope":"https://mail.example.test/"}')
        return AuthResult(success=False, handled=False)

    async def auth_EXTERNAL(self, server, args):
        """EXTERNAL (RFC 4422 Appendix A): the TLS client certificate is the identity."""
        name = Handler.peer_name(server)
        if name is None:
            return AuthResult(success=False, handled=False)
        requested = base64.b64decode(args[1]).decode() if len(args) == 2 and args[1] != "=" else ""
        return AuthResult(success=True, auth_data=LoginPassword((requested or name).encode(), b""))

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from, "to": envelope.rcpt_tos, "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options, "tls": server.transport.get_extra_info("ssl_object") is not None,
            "peer_certificate": Handler.peer_name(server),
            "auth": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "authzid": self.authzid.get(id(session)),
            "text": base64.b64encode(envelope.original_content or envelope.content).decode(),
        }
        if self.args.log:
            with open(self.args.log, "a") as f:
                f.write(json.dumps(record) + "\n")
        return "250 2.0.0 Ok: queued as TEST%d" % len(envelope.rcpt_tos)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--starttls", nargs=2)
    parser.add_argument("--user")
    parser.add_argument("--auth-without-tls", action="store_true")
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--close-at-rcpt", type=int, default=0)
    parser.add_argument("--smtputf8", action="store_true")
    parser.add_argument("--client-ca")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--oauth-token")
    parser.add_argument("--external", action="store_true")
    parser.add_argument("--log")
    args = parser.parse_args()

    context = None
    if args.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.starttls[0], args.starttls[1])
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)

    users = {}
    if args.user:
        name, password = args.user.split(":", 1)
        users[name.encode()] = password.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and users.get(auth_data.login) == auth_data.password:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    args.users = users
    handler = Handler(args)

    def factory():
        return SMTP(
            handler, hostname="mx.example.test", tls_context=None if args.implicit_tls else context, data_size_limit=args.size or None,
            enable_SMTPUTF8=args.smtputf8, auth_require_tls=not args.auth_without_tls,
            authenticator=authenticator if users else None,
            auth_exclude_mechanism=([] if users else ["LOGIN", "PLAIN"]) + ([] if args.oauth_token else ["XOAUTH2"])
            + ([] if args.external else ["EXTERNAL"]),
            timeout=60)

    async def serve():
        server = await asyncio.get_running_loop().create_server(
            factory, host="127.0.0.1", port=0, ssl=context if args.implicit_tls else None)
        print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
