"""Configurations that parse, start, and then do the wrong thing without a word: an operator's mistakes.

Each was found with the real gateway, a real origin and real clients (curl), and is now refused at the start and by
--check-config (file:line:column), or warned about there, naming the key.
"""

import os
import re

from harness import GatewayTestCase, Gateway, gateway_config, run_binary

POS = re.compile(r"(?m)^(?P<file>\S+\.json):(?P<line>\d+):(?P<col>\d+): (?P<msg>\S.*)$")


class UpstreamIsTheGatewayTest(GatewayTestCase):
    """An upstream URL that names one of the gateway's own listeners (a port copied from the wrong line): it started,
    --check-config said "valid", and every request was proxied back to the gateway, a connection more each round,
    until the client gave up (curl: nothing within 20 s) or the descriptors ran out."""
    with_origin = False
    start_gateway = False

    def config_for(self, upstream_of, admin=False):
        cfg = gateway_config("http://127.0.0.1:1", admin=admin)
        cfg["upstream"] = upstream_of(cfg)
        return cfg

    def assert_refused(self, cfg, name, mentions):
        g = Gateway(self.tmp, cfg, name=name)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 1, "--check-config: %s%s" % (p.stdout, p.stderr))
        m = POS.search(p.stderr)
        self.assertIsNotNone(m, "no file:line:column in %r" % p.stderr)
        with open(g.config_path) as f:
            line = f.read().split("\n")[int(m.group("line")) - 1]
        self.assertTrue(line[int(m.group("col")) - 1:].startswith('"%s"' % cfg["upstream"]),
                        "the position is the upstream URL's: %r" % m.group(0))
        for word in mentions:
            self.assertIn(word, m.group("msg"))
        # the start refuses too, before it listens (exit status 1: systemd does not restart it)
        with self.assertRaises(RuntimeError):
            g.start()
        self.assertEqual(g.proc.returncode, 1)
        self.assertIn(m.group("msg"), g.stderr() + g.error_log())

    def test_upstream_is_its_own_listener(self):
        self.assert_refused(self.config_for(lambda c: "http://127.0.0.1:%d" % c["listen"][0]["port"]), "same",
                            ["upstream", "the gateway's own listen[0]"])

    def test_localhost_reaches_a_wildcard_listener(self):
        def up(c):
            del c["listen"][0]["host"]  # every interface: 127.0.0.1 and localhost reach it
            return "http://localhost:%d/app/" % c["listen"][0]["port"]
        self.assert_refused(self.config_for(up), "wildcard", ["the gateway's own listen[0]"])

    def test_upstream_is_the_admin_listener(self):
        self.assert_refused(self.config_for(lambda c: "http://127.0.0.1:%d" % c["admin"]["listen"]["port"], admin=True),
                            "admin", ["the gateway's own admin listener"])

    def test_another_address_on_the_same_port_is_an_origin(self):
        # an origin on 127.0.0.1 at the port the gateway has on 127.0.0.2: no loop
        cfg = gateway_config("http://127.0.0.1:1", admin=False)
        cfg["listen"][0]["host"] = "127.0.0.2"
        cfg["upstream"] = "http://127.0.0.1:%d" % cfg["listen"][0]["port"]
        g = Gateway(self.tmp, cfg, name="other-address")
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
