/**
 * Dovecot as Postfix's SASL server (and optionally IMAPS and POP3S), as an instance of its own: a whole dovecot.conf
 * of ours, with its own instance_name, base_dir and state_dir, run by a systemd unit of ours. The host's Dovecot, if
 * there is one, is never read or edited: its users, protocols and listeners stay the operator's, as main.cf does
 * (README, "The operator's Dovecot"). Dovecot 2.4 renamed many settings and names its passdb/userdb blocks, so there
 * is one renderer per syntax; the host script picks the one that matches `dovecot --version`.
 * 2.3: https://doc.dovecot.org/2.3/ 2.4: https://doc.dovecot.org/2.4.1/
 */
import type { HostConfig } from "../config/resolve";
import { DOVECOT_PROTOCOLS, DOVECOT_UNIT_NAME, enabledDovecotServices, paths, ports, VIRTUAL_MAIL_UID, type DovecotService } from "../host/contract";
import { tlsPolicy } from "../tls/policy";

export type DovecotSyntax = "2.3" | "2.4";

const MANAGED = "# Managed by mail-submission (pulumi). Removed again by `pulumi destroy`.";

function block(header: string, lines: readonly string[]): string[] {
  return [`${header} {`, ...lines.map((l) => `  ${l}`), "}"];
}

/** Apart from the host's Dovecot: its own name in logs and for doveadm, its own sockets and state. */
function instance(host: HostConfig, syntax: DovecotSyntax): string[] {
  const protocols = enabledDovecotServices(host.services).map((s) => ` ${DOVECOT_PROTOCOLS[s]}`).join("");
  return [
    `instance_name = ${DOVECOT_UNIT_NAME}`,
    `base_dir = ${paths.dovecotBaseDir}/`,
    `state_dir = ${paths.dovecotStateDir}`,
    // Without IMAPS and POP3S no protocol at all: only the auth service and its socket run (and Dovecot's own
    // helpers). 2.3 spells that "none", 2.4 an empty list.
    `protocols =${protocols !== "" ? protocols : syntax === "2.3" ? " none" : ""}`,
    // A reload must not kill the auth process of before it (35 s later) while a Postfix smtpd still has a request
    // in flight there: it answers 454 to a client that did nothing wrong. It exits once Postfix has let go.
    "shutdown_clients = no",
    // Into the unit's journal through stderr, not through syslog: Dovecot 2.4.1 (Debian 13) keeps syslog's ident in
    // settings that a reload frees, and its master crashes at a later reload (fixed upstream in 2.4.2). The journal
    // stamps each line itself.
    "log_path = /dev/stderr",
    "log_timestamp =",
  ];
}

function authListener(): string[] {
  // 0660 postfix:postfix: only Postfix may ask Dovecot to check passwords (SASL_README, "Dovecot SASL").
  return block("service auth", block(`unix_listener ${paths.saslSocketAbsolute}`, ["mode = 0660", "user = postfix", "group = postfix"]));
}

/**
 * The wait before a failed login is answered. Dovecot's anvil would add its own growing per-IP penalty (up to 15 s,
 * for an hour); unless asked for, it is switched off the documented way, since Postfix stops waiting after ~10 s.
 */
function failureDelay(host: HostConfig): string[] {
  const delay = `auth_failure_delay = ${host.limits.authFailureDelaySeconds}s`;
  return host.limits.dovecotPenalty ? [delay] : [delay, ...block("service anvil", block("unix_listener anvil-auth-penalty", ["mode = 0"]))];
}

/** passwd-file users' mail belongs to the system user "mail", and this instance may open no other user's. */
function virtualUid(host: HostConfig): string[] {
  return host.authBackend === "passwd-file" ? [`first_valid_uid = ${VIRTUAL_MAIL_UID}`, `last_valid_uid = ${VIRTUAL_MAIL_UID}`] : [];
}

/**
 * Implicit TLS only: the cleartext listener each login service has by default (143, 110) is closed, as RFC 8314
 * §3.2 prefers implicit TLS. Only our instance's listeners: the host's Dovecot keeps its own.
 */
function clientListeners(host: HostConfig): string[] {
  return enabledDovecotServices(host.services).flatMap((s: DovecotService) => {
    const protocol = DOVECOT_PROTOCOLS[s];
    return block(`service ${protocol}-login`, [
      ...block(`inet_listener ${protocol}`, ["port = 0"]),
      ...block(`inet_listener ${s}`, [`port = ${ports[s]}`, "ssl = yes"]),
    ]);
  });
}

function render23(host: HostConfig): string[] {
  const tls = tlsPolicy(host.tls.profile);
  const lines = [...instance(host, "2.3"), "auth_mechanisms = plain login", "disable_plaintext_auth = yes", ...failureDelay(host), ...authListener()];
  if (host.authBackend === "passwd-file") {
    lines.push(
      ...block("passdb", ["driver = passwd-file", `args = scheme=SHA512-CRYPT username_format=%u ${paths.dovecotPasswd}`]),
      ...block("userdb", ["driver = static", `args = uid=mail gid=mail home=${paths.virtualHome}/%u`]),
    );
  } else {
    // The host's accounts through PAM (/etc/pam.d/dovecot), as Debian's auth-system.conf.ext has them.
    lines.push(...block("passdb", ["driver = pam"]), ...block("userdb", ["driver = passwd"]));
  }
  if (enabledDovecotServices(host.services).length === 0) return [...lines, "ssl = no"];
  return [
    ...lines,
    ...virtualUid(host),
    "mail_location = maildir:~/Maildir",
    "ssl = required",
    `ssl_cert = <${paths.certChain}`,
    `ssl_key = <${paths.certKey}`,
    `ssl_min_protocol = ${tls.minProtocol}`,
    `ssl_cipher_list = ${tls.cipherList}`,
    "ssl_prefer_server_ciphers = yes",
    ...clientListeners(host),
  ];
}

function render24(host: HostConfig): string[] {
  const tls = tlsPolicy(host.tls.profile);
  // Both versions must open the file: they say which defaults and storage format the settings below assume.
  const lines = ["dovecot_config_version = 2.4.0", "dovecot_storage_version = 2.4.0", ...instance(host, "2.4")];
  lines.push("auth_mechanisms = plain login", "auth_allow_cleartext = no", ...failureDelay(host), ...authListener());
  if (host.authBackend === "passwd-file") {
    lines.push(
      ...block("passdb mail-submission", ["driver = passwd-file", `passwd_file_path = ${paths.dovecotPasswd}`, "default_password_scheme = SHA512-CRYPT"]),
      ...block("userdb mail-submission", [
        "driver = static",
        ...block("fields", ["uid = mail", "gid = mail", `home = ${paths.virtualHome}/%{user}`]),
      ]),
    );
  } else {
    lines.push(...block("passdb pam", ["driver = pam"]), ...block("userdb passwd", ["driver = passwd"]));
  }
  if (enabledDovecotServices(host.services).length === 0) return [...lines, "ssl = no"];
  return [
    ...lines,
    ...virtualUid(host),
    "mail_driver = maildir",
    "mail_path = %{home}/Maildir",
    // INBOX is the Maildir itself, as Postfix's `home_mailbox = Maildir/` delivers it (2.4 would make it .INBOX).
    "mail_inbox_path = %{home}/Maildir",
    "ssl = required",
    `ssl_server_cert_file = ${paths.certChain}`,
    `ssl_server_key_file = ${paths.certKey}`,
    `ssl_min_protocol = ${tls.minProtocol}`,
    `ssl_cipher_list = ${tls.cipherList}`,
    "ssl_server_prefer_ciphers = server",
    ...clientListeners(host),
  ];
}

/** The instance's whole dovecot.conf: nothing is included from the host's /etc/dovecot. */
export function renderDovecot(host: HostConfig, syntax: DovecotSyntax): string {
  const body = syntax === "2.3" ? render23(host) : render24(host);
  const extra = host.dovecotExtraConfig.trim();
  // dovecot_config_version must be the first setting of the file (2.4), so the managed note comes after it.
  const head = syntax === "2.4" ? [...body.slice(0, 2), MANAGED] : [MANAGED, ...body.slice(0, 2)];
  return [...head, ...body.slice(2), ...(extra === "" ? [] : ["# dovecotExtraConfig", extra]), ""].join("\n");
}

/**
 * The instance's unit, beside (never instead of) the host's dovecot.service. Type=notify, reload and stop as
 * Debian's own unit does them, each pointed at our configuration.
 */
export function renderDovecotUnit(): string {
  const conf = paths.dovecotConf;
  return [
    MANAGED,
    "[Unit]",
    "Description=Dovecot for mail-submission: SASL for Postfix's submission services (and IMAPS/POP3S when enabled)",
    "Documentation=man:dovecot(1)",
    "After=local-fs.target network-online.target",
    "Before=postfix.service",
    "",
    "[Service]",
    "Type=notify",
    `ExecStart=${paths.dovecotBin} -F -c ${conf}`,
    `ExecReload=${paths.doveadmBin} -c ${conf} reload`,
    `ExecStop=${paths.doveadmBin} -c ${conf} stop`,
    `RuntimeDirectory=${DOVECOT_UNIT_NAME}`,
    `StateDirectory=${DOVECOT_UNIT_NAME}`,
    "NonBlocking=yes",
    "PrivateTmp=true",
    "PrivateDevices=true",
    "ProtectSystem=full",
    "Restart=on-failure",
    "LimitNOFILE=65535",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** passwd-file lines: `login:{SCHEME}hash`. Only hashes ever reach the host. */
export function renderPasswdFile(entries: readonly { name: string; hash: string }[]): string {
  return entries.map((e) => `${e.name}:${e.hash}\n`).join("");
}
