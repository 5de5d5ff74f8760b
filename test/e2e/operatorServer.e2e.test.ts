/**
 * `up` on a host that already serves mail, Debian 12 and 13, one host each, shaped like a live server before the
 * product arrives:
 * - the operator's Dovecot serves IMAP (143 with STARTTLS, 993) to a PAM user whose mail is in ~/Maildir, and its
 *   own SASL socket (private/auth) to the operator's own submission entry;
 * - main.cf sets parameters twice (Postfix warns, and runs with the later ones), has its own port-25 TLS settings
 *   and `inet_interfaces = loopback-only`;
 * - master.cf has the operator's own `submission` entry and an extra smtpd on 2525;
 * - an nftables policy-drop firewall with the operator's own IMAP openings;
 * - the operator's own fail2ban, guarding SSH from the journal.
 * Before `up`, after it and after `destroy`, the operator's user reads the message that was there first with a
 * real IMAP client, port 25 and 2525 answer as before, their fail2ban runs its own jail, and no listener
 * disappears. Our bans and sending limits are on beside theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { mailboxRead } from "../harness/mailbox";
import { makePki } from "../harness/pki";
import { configFingerprint, hostRoot, listening, submit } from "../harness/probes";
import { downHost, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, stackFor, tlsFor } from "../harness/scenario";

const DAVE = { name: "dave", password: "Dave-Pw-3c9a71" };
const OLD_SUBJECT = "written before mail-submission came";

/** The operator's server, as root on the host: packages, the PAM user and their mail, Dovecot, Postfix, firewall. */
function shapeScript(release: Release): string {
  const mail = release === "bookworm" ? "mail_location = maildir:~/Maildir" : "mail_driver = maildir\nmail_path = %{home}/Maildir\nmail_inbox_path = %{home}/Maildir";
  return [
    "set -eu",
    "printf 'postfix postfix/main_mailer_type select Internet Site\\npostfix postfix/mailname string mail.sandbox.test\\n' | debconf-set-selections",
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix dovecot-core dovecot-imapd >/dev/null 2>&1",
    `useradd -m -s /bin/bash ${DAVE.name}`,
    `echo '${DAVE.name}:${DAVE.password}' | chpasswd`,
    `install -d -o ${DAVE.name} -g ${DAVE.name} -m 0700 /home/${DAVE.name}/Maildir /home/${DAVE.name}/Maildir/cur /home/${DAVE.name}/Maildir/new /home/${DAVE.name}/Maildir/tmp`,
    `printf 'From: root@${HOSTNAME}\\nTo: ${DAVE.name}@${HOSTNAME}\\nSubject: ${OLD_SUBJECT}\\n\\nhello dave\\n' >/home/${DAVE.name}/Maildir/new/1.operator:2,`,
    `chown ${DAVE.name}: /home/${DAVE.name}/Maildir/new/1.operator:2,`,
    // Debian's dovecot.conf reads local.conf last: the operator's maildir and the SASL socket for their own Postfix.
    `printf '%s\\n' '${mail.replaceAll("\n", "' '")}' 'service auth {' '  unix_listener /var/spool/postfix/private/auth {' '    mode = 0660' '    user = postfix' '    group = postfix' '  }' '}' >/etc/dovecot/local.conf`,
    "systemctl restart dovecot",
    "postconf -e smtpd_tls_security_level=may smtpd_tls_loglevel=1",
    "printf '%s\\n' 'smtpd_banner = $myhostname ESMTP operator' 'inet_interfaces = loopback-only' >>/etc/postfix/main.cf",
    "postconf -M 'submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=private/auth'",
    "postconf -M '2525/inet=2525 inet n - y - - smtpd -o syslog_name=postfix/operator-2525'",
    "systemctl restart postfix",
    "nft add rule inet operator input tcp dport '{ 143, 993 }' accept",
    // Debian's fail2ban watches /var/log/auth.log, which a journald-only host has not: the operator points it at the journal.
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fail2ban python3-systemd >/dev/null 2>&1",
    "printf '[sshd]\\nbackend = systemd\\n' >/etc/fail2ban/jail.d/operator.local",
    "systemctl restart fail2ban",
  ].join("\n");
}

/** The greeting and EHLO reply of an SMTP service on the host's loopback, asked from the host itself. */
async function loopbackSmtp(sb: SandboxHost, port: number): Promise<string> {
  return hostRoot(sb, `exec 3<>/dev/tcp/127.0.0.1/${port}; read -r -t 5 g <&3; printf 'EHLO probe.test\\r\\n' >&3; r=; while read -r -t 5 l <&3; do r="$r$l "; case "$l" in 250\\ *) break;; esac; done; printf 'QUIT\\r\\n' >&3; echo "$g | $r" | tr -d "\\r"`);
}

/** Each socket that listened before still takes connections: the same one, or the wildcard of its family and port. */
function stillServed(before: string[], after: string[]): string[] {
  return before.filter((s) => {
    const port = s.slice(s.lastIndexOf(":") + 1);
    const wildcard = s.startsWith("[") ? `[::]:${port}` : `0.0.0.0:${port}`;
    return !after.includes(s) && !after.includes(wildcard) && !after.includes(`*:${port}`);
  });
}

describe.each(["bookworm", "trixie"] as Release[])("a live mail server on Debian %s, through pulumi up and destroy", (release) => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;
  let before: { config: Record<string, string>; sockets: string[]; port25: string; port2525: string };
  // driftCheck: preview reads the host, so it can name what up would take over before up runs.
  const spec = (imaps: boolean) => ({ certificate: { mode: "provided" as const, ...pki.issue(HOSTNAME) }, extra: { services: { imaps }, driftCheck: true, bans: { enabled: true }, limits: { outbound: true } } });

  /** What the operator's users and services must show at every stage. */
  async function operatorsServiceWorks(): Promise<void> {
    for (const port of [143, 993] as const) {
      const read = await mailboxRead(sb.address, port, DAVE.name, DAVE.password, "operator's");
      expect(read.error, `IMAP on ${port}`).toBe("");
      expect(read.message).toContain(`Subject: ${OLD_SUBJECT}`);
    }
    expect(await loopbackSmtp(sb, 25)).toBe(before.port25);
    expect(await loopbackSmtp(sb, 2525)).toBe(before.port2525);
    await hostRoot(sb, "test -S /var/spool/postfix/private/auth");
    expect(await hostRoot(sb, "systemctl is-active fail2ban; fail2ban-client status | sed -n 's/.*Jail list:[[:space:]]*//p'")).toBe("active\nsshd\n");
  }

  beforeAll(async () => {
    sb = await upHost(`e2e-live-${release}`, { release, firewall: "nftables-drop" });
    await hostRoot(sb, shapeScript(release));
    before = { config: await configFingerprint(sb), sockets: await listening(sb), port25: await loopbackSmtp(sb, 25), port2525: await loopbackSmtp(sb, 2525) };
    stack = await stackFor(`live-${release}`, sb, spec(true));
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("starts as a live server: the operator's user reads their mail on 143 and 993, 25 and 2525 answer on loopback only", async () => {
    expect(before.port25).toMatch(/^220 .* ESMTP operator \| .*250-STARTTLS/);
    expect(before.port2525).toMatch(/^220 /);
    expect(before.sockets).toContain("127.0.0.1:25");
    expect(before.sockets).not.toContain("0.0.0.0:25");
    await operatorsServiceWorks();
  });

  it("preview names the operator's entry that up would replace; up refuses IMAPS while their Dovecot holds 993, naming the conflict and the way out, and changes nothing of theirs", async () => {
    const preview = await stack.preview();
    expect(preview.output).toMatch(/the operator's master\.cf entry 'submission' binds port 587, which our submission service will serve: up comments it out while mail-submission is deployed, and destroy puts it back/);
    const r = await stack.upFailing();
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/port 993 \(dovecot\) is already served by another program on this host .*set services\.imaps to false, or free the port there/);
    await operatorsServiceWorks();
    const config = await configFingerprint(sb);
    for (const file of Object.keys(before.config).filter((f) => f.startsWith("/etc/postfix/") || f.startsWith("/etc/dovecot/"))) {
      expect(config[file], file).toBe(before.config[file]);
    }
  }, 600_000);

  it("without IMAPS, up serves 465/587 to outside clients despite loopback-only, names the entry it replaced, and leaves the operator's service as it was", async () => {
    await reconfigure(stack, sb, spec(false));
    const run = await stack.up();
    expect(run.output).toMatch(/warning: .*the operator's master\.cf entry 'submission inet n - y - - smtpd -o syslog_name=postfix\/submission .*' binds port 587, which our submission service serves: it is commented out while mail-submission is deployed, and destroy puts it back/);
    expect(run.output).toMatch(/Postfix warns about the host's own configuration: .*main\.cf, line \d+: overriding earlier entry: inet_interfaces=all/);
    for (const port of [465, 587] as const) {
      const r = await submit({ host: sb.address, port, tls: tlsFor(pki) }, { user: ALICE.name, password: ALICE.password, mechanism: "PLAIN", from: ALICE.name, to: `root@${HOSTNAME}`, subject: `live ${port}` });
      expect(r.end?.code, `submission on ${port}`).toBe(250);
    }
    // The operator's PAM user is theirs: our passwd-file backend does not let them in on 587.
    const dave = await submit({ host: sb.address, port: 587, tls: tlsFor(pki) }, { user: DAVE.name, password: DAVE.password, mechanism: "PLAIN", from: `${DAVE.name}@${HOSTNAME}`, to: `root@${HOSTNAME}`, subject: "pam" });
    expect(dave.auth.code).toBe(535);
    await operatorsServiceWorks();
    // Ours run beside theirs.
    expect(await hostRoot(sb, "systemctl is-active mail-submission-fail2ban mail-submission-ratelimit@messages mail-submission-ratelimit@recipients")).toBe("active\nactive\nactive\n");
    expect(stillServed(before.sockets, await listening(sb))).toEqual([]);
    const config = await configFingerprint(sb);
    expect(config["/etc/postfix/main.cf"]).toBe(before.config["/etc/postfix/main.cf"]);
    for (const file of Object.keys(before.config).filter((f) => f.startsWith("/etc/dovecot/"))) expect(config[file], file).toBe(before.config[file]);
    // A second run says it again: the replacement lasts as long as the deployment.
    const again = await stack.up({ replace: [await stack.urn(sb.name, "postfix")] });
    expect(again.output).toMatch(/the operator's master\.cf entry 'submission inet .*' binds port 587/);
  }, 900_000);

  it("destroy gives everything back: the operator's submission entry, their files byte for byte, the same listeners", async () => {
    await stack.destroy();
    expect(await configFingerprint(sb)).toEqual(before.config);
    expect(await listening(sb)).toEqual(before.sockets);
    await operatorsServiceWorks();
  }, 300_000);
});
