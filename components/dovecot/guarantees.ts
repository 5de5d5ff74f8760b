/**
 * What the check step reads back of Dovecot, as `syntax|name=value|guarantee` for `doveconf -h name` on the
 * matching Dovecot version: no password before TLS, and with IMAPS or POP3S their TLS policy.
 */
import type { HostConfig } from "../config/resolve";
import { enabledDovecotServices } from "../host/contract";
import { tlsPolicy } from "../tls/policy";
import { DOVECOT_NO_CLEARTEXT } from "./guards";

export function dovecotGuarantees(host: HostConfig): string[] {
  const lines = [`2.3|disable_plaintext_auth=yes|${DOVECOT_NO_CLEARTEXT}`, `2.4|auth_allow_cleartext=no|${DOVECOT_NO_CLEARTEXT}`];
  if (enabledDovecotServices(host.services).length > 0) {
    const min = tlsPolicy(host.tls.profile).minProtocol;
    for (const syntax of ["2.3", "2.4"]) {
      lines.push(`${syntax}|ssl=required|IMAP and POP3 over TLS only`, `${syntax}|ssl_min_protocol=${min}|TLS ${min.slice(5)} or newer only`);
    }
  }
  return lines;
}
