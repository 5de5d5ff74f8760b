import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config/parse";
import { renderDovecot, renderPasswdFile } from "../../components/dovecot/render";
import { withChange, type Mutable } from "./fixtures";

const host = (change: (h: Mutable) => void = () => {}) => parseHost(withChange(change));

describe("Dovecot renderer", () => {
  it("2.3: socket for Postfix, PLAIN/LOGIN, no cleartext auth, unnamed passwd-file passdb", () => {
    const conf = renderDovecot(host(), "2.3");
    expect(conf).toContain("auth_mechanisms = plain login\ndisable_plaintext_auth = yes\nauth_failure_delay = 2s\n");
    expect(conf).toContain("service auth {\n  unix_listener /var/spool/postfix/private/auth {\n    mode = 0660\n    user = postfix\n    group = postfix\n  }\n}");
    expect(conf).toContain("passdb {\n  driver = passwd-file\n  args = scheme=SHA512-CRYPT username_format=%u /etc/dovecot/mail-submission.passwd\n}");
    expect(conf).not.toMatch(/auth_allow_cleartext|passwd_file_path|dovecot_config_version|%\{/);
  });

  it("2.4: renamed settings and named passdb/userdb blocks", () => {
    const conf = renderDovecot(host(), "2.4");
    expect(conf).toContain("auth_allow_cleartext = no");
    expect(conf).toContain("passdb mail-submission {\n  driver = passwd-file\n  passwd_file_path = /etc/dovecot/mail-submission.passwd\n");
    expect(conf).toContain("userdb mail-submission {\n  driver = static\n  fields {\n");
    expect(conf).toContain("home = /var/lib/mail-submission/mail/%{user}");
    expect(conf).not.toMatch(/disable_plaintext_auth|args =|ssl_cert =|%u/);
    // dovecot_config_version must come first in dovecot.conf: a drop-in must not set it again.
    expect(conf).not.toContain("dovecot_config_version");
  });

  it("delays failed logins, and keeps Dovecot's hour-long per-address penalty off unless asked for", () => {
    for (const syntax of ["2.3", "2.4"] as const) {
      const conf = renderDovecot(host(), syntax);
      expect(conf).toContain("auth_failure_delay = 2s\nservice anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}");
      const penalty = renderDovecot(host((h) => (h.limits = { dovecotPenalty: true, authFailureDelaySeconds: 5 })), syntax);
      expect(penalty).toContain("auth_failure_delay = 5s\n");
      expect(penalty).not.toContain("anvil-auth-penalty");
    }
  });

  it("system backend: no passdb of ours, the host's PAM stays in charge", () => {
    for (const syntax of ["2.3", "2.4"] as const) {
      const conf = renderDovecot(host((h) => ((h.authBackend = "system"), (h.users = []), (h.senderPolicy = { loginMatch: false }))), syntax);
      expect(conf).not.toMatch(/passdb|userdb/);
      expect(conf).toContain("unix_listener /var/spool/postfix/private/auth");
    }
  });

  it("IMAPS: 993 only, TLS 1.2+, the deployed certificate, in each syntax", () => {
    const h = host((x) => (x.services = { imaps: true }));
    const v23 = renderDovecot(h, "2.3");
    expect(v23).toContain("ssl_cert = </etc/mail-submission/tls/fullchain.pem\nssl_key = </etc/mail-submission/tls/privkey.pem\nssl_min_protocol = TLSv1.2");
    expect(v23).toContain("ssl_prefer_server_ciphers = yes");
    const v24 = renderDovecot(h, "2.4");
    expect(v24).toContain("ssl_server_cert_file = /etc/mail-submission/tls/fullchain.pem\nssl_server_key_file = /etc/mail-submission/tls/privkey.pem");
    expect(v24).toContain("ssl_server_prefer_ciphers = server");
    for (const conf of [v23, v24]) {
      expect(conf).toContain("inet_listener imap {\n    port = 0\n  }");
      expect(conf).toContain("inet_listener imaps {\n    port = 993\n    ssl = yes\n  }");
      expect(conf).toContain("ssl = required");
    }
    expect(renderDovecot(host(), "2.4")).not.toContain("ssl");
  });

  it("appends the extra config last", () => {
    expect(renderDovecot(host((h) => (h.dovecotExtraConfig = "auth_verbose = yes")), "2.3").trimEnd()).toMatch(/# dovecotExtraConfig\nauth_verbose = yes$/);
  });

  it("writes login:hash lines only", () => {
    expect(renderPasswdFile([{ name: "a@example.com", hash: "{SHA512-CRYPT}$6$x$y" }, { name: "b", hash: "{BLF-CRYPT}z" }])).toBe(
      "a@example.com:{SHA512-CRYPT}$6$x$y\nb:{BLF-CRYPT}z\n",
    );
  });
});
