/**
 * Bans of password guessers by fail2ban (Debian's package), in an instance of our own: its own configuration
 * directory, socket and ban database, run by our unit. It reads the journal for failed logins on our services only
 * (Postfix's submission services, our Dovecot instance) and bans an address on every port we serve, in the firewall
 * backend the firewall step manages; never SSH unless asked. A host's own fail2ban (/etc/fail2ban, fail2ban.service)
 * is never read or changed. Pure. References: jail.conf(5), fail2ban's action.d and filter.d formats.
 */
import type { HostConfig } from "../config/resolve";
import { DOVECOT_UNIT_NAME, enabledServices, fail2banPaths, FAIL2BAN_UNIT_NAME, HOST_PATHS, NFT_BAN_TABLE, ports } from "../host/contract";

const MANAGED = "# Managed by mail-submission (pulumi). Removed again by `pulumi destroy`.";

/** The backends a ban can go into: the firewall step's, as it recorded the one it chose. */
export const BAN_BACKENDS = ["nftables", "ufw", "firewalld"] as const;
export type BanBackend = (typeof BAN_BACKENDS)[number];

/** The ports a banned address loses: every one we serve, and SSH only when asked. */
export function bannedPorts(host: HostConfig): number[] {
  const served = enabledServices(host.services).map((s) => ports[s]);
  return host.bans.includeSsh ? [...served, host.connection.port] : served;
}

export function renderFail2banConf(host: HostConfig): string {
  // The history of bans must outlive the longest ban, or a repeat offender would start over at the first one.
  const purgeAge = host.bans.maxBanTimeSeconds + host.bans.findTimeSeconds;
  return [
    MANAGED,
    "[Definition]",
    "loglevel = INFO",
    // Into the journal of our unit: `journalctl -u mail-submission-fail2ban` shows each Ban and Unban.
    "logtarget = SYSOUT",
    `socket = ${fail2banPaths.socket}`,
    `pidfile = ${fail2banPaths.pidfile}`,
    `dbfile = ${fail2banPaths.db}`,
    `dbpurgeage = ${purgeAge}`,
    "",
  ].join("\n");
}

export function renderJail(host: HostConfig): string {
  const b = host.bans;
  return [
    MANAGED,
    `[${fail2banPaths.jailName}]`,
    "enabled = true",
    "backend = systemd",
    "filter = mail-submission",
    "action = mail-submission-ban",
    `maxretry = ${b.maxFailures}`,
    `findtime = ${b.findTimeSeconds}`,
    `bantime = ${b.banTimeSeconds}`,
    `bantime.increment = ${b.increment ? "true" : "false"}`,
    `bantime.maxtime = ${b.maxBanTimeSeconds}`,
    // Nobody is exempt but the host itself (its probes and rehearsals come from loopback).
    "ignoreself = true",
    "ignoreip =",
    "usedns = no",
    "",
  ].join("\n");
}

/**
 * The journal lines of a failed login, from our services only: Postfix's SASL failures on 465/587 (not a lost
 * connection to Dovecot, which is our fault, not the client's), and our Dovecot's login processes on 993/995
 * (2.3: `Disconnected (auth failed, …)`, 2.4: `Login aborted: … (auth failed, …)`), each a connection that failed.
 */
export function renderFilter(host: HostConfig): string {
  const identifiers = (["submissions", "submission"] as const).filter((s) => host.services[s]).map((s) => `SYSLOG_IDENTIFIER=postfix/${s}/smtpd`);
  const journal = [...identifiers, `_SYSTEMD_UNIT=${DOVECOT_UNIT_NAME}.service`].join(" + ");
  return [
    MANAGED,
    "[Definition]",
    "failregex = warning: [^[ ]*\\[<ADDR>\\](?::\\d+)?: SASL \\S+ authentication failed:(?! Connection lost to authentication server| Invalid authentication mechanism)",
    "            (?:imap|pop3)-login: .*\\(auth failed, \\d+ attempts in \\d+ secs\\).*[ ,]rip=<ADDR>,",
    "ignoreregex =",
    "",
    "[Init]",
    `journalmatch = ${journal}`,
    "",
  ].join("\n");
}

/** Our own ban table for the nftables backend, loaded whole: a reload replaces it rather than adding twice. */
export function renderNftBanTable(host: HostConfig): string {
  const dports = `{ ${bannedPorts(host).join(", ")} }`;
  const t = `inet ${NFT_BAN_TABLE}`;
  return [
    MANAGED,
    `table ${t} {}`,
    `delete table ${t}`,
    `table ${t} {`,
    "  set v4 { type ipv4_addr; }",
    "  set v6 { type ipv6_addr; }",
    "  chain input {",
    // Before the filter chains of the operator, ufw and firewalld (priority 0 and up): a drop anywhere is final.
    "    type filter hook input priority -10; policy accept;",
    `    ip saddr @v4 tcp dport ${dports} reject with tcp reset`,
    `    ip6 saddr @v6 tcp dport ${dports} reject with tcp reset`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The ban action for each backend; fail2ban fills in `<ip>`, and `family` picks the address family's variant. */
export function renderBanAction(host: HostConfig, backend: BanBackend): string {
  const list = bannedPorts(host);
  const t = `inet ${NFT_BAN_TABLE}`;
  const body: Record<BanBackend, string[]> = {
    nftables: [
      "[Definition]",
      `actionstart = nft -f ${fail2banPaths.nftTable}`,
      `actionstop = nft delete table ${t}`,
      `actioncheck = nft list set ${t} <set> >/dev/null`,
      `actionban = nft add element ${t} <set> '{ <ip> }'`,
      `actionunban = nft delete element ${t} <set> '{ <ip> }'`,
      "",
      "[Init]",
      "set = v4",
      "",
      "[Init?family=inet6]",
      "set = v6",
    ],
    // ufw's own rules, first in its list; ufw deletes a rule by the same words that made it.
    ufw: [
      "[Definition]",
      "actionstart =",
      "actionstop =",
      "actioncheck =",
      `actionban = ufw prepend reject from <ip> to any port ${list.join(",")} proto tcp comment '${FAIL2BAN_UNIT_NAME}'`,
      `actionunban = ufw delete reject from <ip> to any port ${list.join(",")} proto tcp`,
    ],
    // Runtime rich rules, as fail2ban's own firewalld actions make them: a `firewall-cmd --reload` drops them.
    firewalld: [
      "[Definition]",
      "actionstart =",
      "actionstop =",
      "actioncheck =",
      `actionban = for p in ${list.join(" ")}; do firewall-cmd --quiet --add-rich-rule="rule family='<fwfamily>' source address='<ip>' port port='$p' protocol='tcp' reject"; done`,
      `actionunban = for p in ${list.join(" ")}; do firewall-cmd --quiet --remove-rich-rule="rule family='<fwfamily>' source address='<ip>' port port='$p' protocol='tcp' reject"; done`,
      "",
      "[Init]",
      "fwfamily = ipv4",
      "",
      "[Init?family=inet6]",
      "fwfamily = ipv6",
    ],
  };
  return [MANAGED, ...body[backend], ""].join("\n");
}

export function renderFail2banUnit(): string {
  const dir = HOST_PATHS.FAIL2BAN_DIR;
  return [
    MANAGED,
    "[Unit]",
    "Description=fail2ban for mail-submission: bans password guessers from the mail ports",
    "Documentation=man:fail2ban(1) man:jail.conf(5)",
    "After=network.target nftables.service firewalld.service ufw.service",
    // Debian's nftables.service flushes the whole ruleset when it (re)loads; the jail then puts its table back and
    // re-bans the addresses whose bans still run (from its database).
    "ReloadPropagatedFrom=nftables.service",
    "",
    "[Service]",
    "Type=simple",
    "Environment=PYTHONNOUSERSITE=1",
    `ExecStart=${fail2banPaths.server} -xf -c ${dir} start`,
    `ExecStop=${fail2banPaths.client} -c ${dir} stop`,
    `ExecReload=${fail2banPaths.client} -c ${dir} reload --restart`,
    `RuntimeDirectory=${fail2banPaths.runtimeDirectory}`,
    "Restart=on-failure",
    "RestartPreventExitStatus=0 255",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
