/**
 * Dovecot as Postfix's SASL server (and optionally IMAPS), as one drop-in in conf.d. Dovecot 2.4 renamed many
 * settings and names its passdb/userdb blocks, so there is one renderer per syntax; the host script picks the one
 * that matches `dovecot --version`. 2.3: https://doc.dovecot.org/2.3/ 2.4: https://doc.dovecot.org/2.4.1/
 */
import type { HostConfig } from "../config/resolve";
import { paths, ports } from "../host/contract";
import { tlsPolicy } from "../tls/policy";

export type DovecotSyntax = "2.3" | "2.4";

function block(header: string, lines: readonly string[]): string[] {
  return [`${header} {`, ...lines.map((l) => `  ${l}`), "}"];
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

function imapsListener(): string[] {
  // 993 only: no cleartext IMAP on 143 (RFC 8314 §3.2 prefers implicit TLS).
  return block("service imap-login", [
    ...block("inet_listener imap", ["port = 0"]),
    ...block("inet_listener imaps", [`port = ${ports.imaps}`, "ssl = yes"]),
  ]);
}

function render23(host: HostConfig): string[] {
  const tls = tlsPolicy(host.tls.profile);
  const lines = ["auth_mechanisms = plain login", "disable_plaintext_auth = yes", ...failureDelay(host), ...authListener()];
  if (host.authBackend === "passwd-file") {
    lines.push(
      ...block("passdb", ["driver = passwd-file", `args = scheme=SHA512-CRYPT username_format=%u ${paths.dovecotPasswd}`]),
      ...block("userdb", ["driver = static", `args = uid=mail gid=mail home=${paths.virtualHome}/%u`]),
    );
  }
  if (host.services.imaps) {
    lines.push(
      "ssl = required",
      `ssl_cert = <${paths.certChain}`,
      `ssl_key = <${paths.certKey}`,
      `ssl_min_protocol = ${tls.minProtocol}`,
      `ssl_cipher_list = ${tls.cipherList}`,
      "ssl_prefer_server_ciphers = yes",
      ...imapsListener(),
    );
  }
  return lines;
}

function render24(host: HostConfig): string[] {
  const tls = tlsPolicy(host.tls.profile);
  const lines = ["auth_mechanisms = plain login", "auth_allow_cleartext = no", ...failureDelay(host), ...authListener()];
  if (host.authBackend === "passwd-file") {
    lines.push(
      ...block("passdb mail-submission", ["driver = passwd-file", `passwd_file_path = ${paths.dovecotPasswd}`, "default_password_scheme = SHA512-CRYPT"]),
      ...block("userdb mail-submission", [
        "driver = static",
        ...block("fields", ["uid = mail", "gid = mail", `home = ${paths.virtualHome}/%{user}`]),
      ]),
    );
  }
  if (host.services.imaps) {
    lines.push(
      "ssl = required",
      `ssl_server_cert_file = ${paths.certChain}`,
      `ssl_server_key_file = ${paths.certKey}`,
      `ssl_min_protocol = ${tls.minProtocol}`,
      `ssl_cipher_list = ${tls.cipherList}`,
      "ssl_server_prefer_ciphers = server",
      ...imapsListener(),
    );
  }
  return lines;
}

export function renderDovecot(host: HostConfig, syntax: DovecotSyntax): string {
  const body = syntax === "2.3" ? render23(host) : render24(host);
  const extra = host.dovecotExtraConfig.trim();
  return [
    "# Managed by mail-submission (pulumi). Removed again by `pulumi destroy`.",
    ...body,
    ...(extra === "" ? [] : ["# dovecotExtraConfig", extra]),
    "",
  ].join("\n");
}

/** passwd-file lines: `login:{SCHEME}hash`. Only hashes ever reach the host. */
export function renderPasswdFile(entries: readonly { name: string; hash: string }[]): string {
  return entries.map((e) => `${e.name}:${e.hash}\n`).join("");
}
