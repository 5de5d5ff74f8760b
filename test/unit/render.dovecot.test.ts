import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config/parse";
import { renderDovecot, renderDovecotUnit, renderPasswdFile } from "../../components/dovecot/render";
import { withChange, type Mutable } from "./fixtures";
import { readDovecotTopLevel } from "./formats";

const host = (change: (h: Mutable) => void = () => {}) => parseHost(withChange(change));

describe("Dovecot renderer", () => {
  it("2.3: an instance of its own: name, sockets, state, no protocol, socket for Postfix, no cleartext auth", () => {
    const conf = renderDovecot(host(), "2.3");
    expect(conf.startsWith("# Managed by mail-submission")).toBe(true);
    expect(conf).toContain("instance_name = mail-submission-dovecot\nbase_dir = /run/mail-submission-dovecot/\nstate_dir = /var/lib/mail-submission-dovecot\nprotocols = none\n");
    // A reload leaves the old auth process to finish what Postfix asked it (lib.sh, release_auth_clients).
    expect(conf).toContain("\nshutdown_clients = no\n");
    expect(conf).toContain("auth_mechanisms = plain login\ndisable_plaintext_auth = yes\nauth_failure_delay = 2s\n");
    expect(conf).toContain("service auth {\n  unix_listener /var/spool/postfix/private/mail-submission-auth {\n    mode = 0660\n    user = postfix\n    group = postfix\n  }\n}");
    expect(conf).toContain("passdb {\n  driver = passwd-file\n  args = scheme=SHA512-CRYPT username_format=%u /etc/mail-submission/dovecot/users\n}");
    expect(conf.trimEnd().endsWith("ssl = no")).toBe(true);
    // Nothing of the host's Dovecot is included: no !include of /etc/dovecot, no protocols.d.
    expect(conf).not.toMatch(/!include|\/etc\/dovecot|auth_allow_cleartext|passwd_file_path|dovecot_config_version|%\{/);
  });

  it("2.4: the version lines first, renamed settings and named passdb/userdb blocks", () => {
    const conf = renderDovecot(host(), "2.4");
    expect(conf.startsWith("dovecot_config_version = 2.4.0\ndovecot_storage_version = 2.4.0\n# Managed by mail-submission")).toBe(true);
    expect(conf).toContain("instance_name = mail-submission-dovecot\n");
    expect(conf).toContain("\nprotocols =\n");
    expect(conf).toContain("auth_allow_cleartext = no");
    expect(conf).toContain("passdb mail-submission {\n  driver = passwd-file\n  passwd_file_path = /etc/mail-submission/dovecot/users\n");
    expect(conf).toContain("userdb mail-submission {\n  driver = static\n  fields {\n");
    expect(conf).toContain("home = /var/lib/mail-submission/mail/%{user}");
    expect(conf).not.toMatch(/disable_plaintext_auth|args =|ssl_cert =|%u|!include/);
  });

  it("logs to the unit's journal through stderr in both syntaxes, never through syslog (2.4.1 crashes at a reload)", () => {
    for (const syntax of ["2.3", "2.4"] as const) {
      const top = readDovecotTopLevel(renderDovecot(host(), syntax));
      expect(top.get("log_path"), syntax).toBe("/dev/stderr");
      expect(top.get("log_timestamp"), syntax).toBe("");
    }
  });

  it("its unit runs Dovecot on our configuration only, beside the host's dovecot.service", () => {
    const unit = renderDovecotUnit();
    expect(unit).toContain("ExecStart=/usr/sbin/dovecot -F -c /etc/mail-submission/dovecot/dovecot.conf\n");
    expect(unit).toContain("ExecReload=/usr/bin/doveadm -c /etc/mail-submission/dovecot/dovecot.conf reload\n");
    expect(unit).toContain("RuntimeDirectory=mail-submission-dovecot\n");
    expect(unit).toContain("Type=notify\n");
    expect(unit).not.toMatch(/Alias=|Conflicts=/);
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

  it("system backend: the host's accounts through PAM, as Debian's auth-system.conf.ext has them", () => {
    const system = host((h) => ((h.authBackend = "system"), (h.users = []), (h.senderPolicy = { loginMatch: false })));
    expect(renderDovecot(system, "2.3")).toContain("passdb {\n  driver = pam\n}\nuserdb {\n  driver = passwd\n}");
    expect(renderDovecot(system, "2.4")).toContain("passdb pam {\n  driver = pam\n}\nuserdb passwd {\n  driver = passwd\n}");
    for (const syntax of ["2.3", "2.4"] as const) expect(renderDovecot(system, syntax)).not.toMatch(/passwd-file|first_valid_uid/);
  });

  it("IMAPS: 993 only, TLS 1.2+, the deployed certificate, in each syntax", () => {
    const h = host((x) => (x.services = { imaps: true }));
    const v23 = renderDovecot(h, "2.3");
    expect(v23).toContain("ssl_cert = </etc/mail-submission/tls/fullchain.pem\nssl_key = </etc/mail-submission/tls/privkey.pem\nssl_min_protocol = TLSv1.2");
    expect(v23).toContain("ssl_prefer_server_ciphers = yes");
    const v24 = renderDovecot(h, "2.4");
    expect(v24).toContain("ssl_server_cert_file = /etc/mail-submission/tls/fullchain.pem\nssl_server_key_file = /etc/mail-submission/tls/privkey.pem");
    expect(v24).toContain("ssl_server_prefer_ciphers = server");
    expect(v23).toContain("mail_location = maildir:~/Maildir");
    expect(v24).toContain("mail_driver = maildir\nmail_path = %{home}/Maildir\n");
    expect(v24).toContain("mail_inbox_path = %{home}/Maildir\n");
    for (const conf of [v23, v24]) {
      expect(conf).toContain("protocols = imap\n");
      // passwd-file users' mail is the system user mail's (uid 8), and the instance may open no other user's.
      expect(conf).toContain("first_valid_uid = 8\nlast_valid_uid = 8\n");
      expect(conf).toContain("inet_listener imap {\n    port = 0\n  }");
      expect(conf).toContain("inet_listener imaps {\n    port = 993\n    ssl = yes\n  }");
      expect(conf).toContain("ssl = required");
    }
    expect(renderDovecot(host(), "2.4")).not.toMatch(/ssl_|ssl = (yes|required)/);
  });

  it("POP3S: 995 only, on its own or beside IMAPS, with the same TLS policy and mailboxes", () => {
    const pop = host((x) => (x.services = { pop3s: true }));
    const both = host((x) => (x.services = { imaps: true, pop3s: true }));
    for (const syntax of ["2.3", "2.4"] as const) {
      const conf = renderDovecot(pop, syntax);
      expect(conf).toContain("protocols = pop3\n");
      expect(conf).toContain("service pop3-login {\n  inet_listener pop3 {\n    port = 0\n  }\n  inet_listener pop3s {\n    port = 995\n    ssl = yes\n  }\n}");
      expect(conf).not.toContain("imap");
      expect(conf).toContain("ssl = required");
      expect(conf).toContain("ssl_min_protocol = TLSv1.2");
      expect(conf).toContain("first_valid_uid = 8\nlast_valid_uid = 8\n");
      const two = renderDovecot(both, syntax);
      expect(two).toContain("protocols = imap pop3\n");
      expect(two).toContain("inet_listener imaps {\n    port = 993");
      expect(two).toContain("inet_listener pop3s {\n    port = 995");
      // One mailbox definition serves both protocols.
      expect(two.match(/mail_location|mail_driver/g)).toHaveLength(1);
    }
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
