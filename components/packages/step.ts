/** The packages step's data: what the other steps need installed, and what destroy does with what it brought. */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { DOVECOT_PROTOCOL_PACKAGES, enabledDovecotServices, PACKAGED_DAEMONS } from "../host/contract";

export function packagesBundle(host: HostConfig): string {
  const wanted = ["postfix", "dovecot-core", "openssl", "ca-certificates"];
  wanted.push(...enabledDovecotServices(host.services).map((s) => DOVECOT_PROTOCOL_PACKAGES[s]));
  if (host.dkim.enabled) wanted.push("opendkim");
  if (host.certificate.mode === "acme") wanted.push("lego");
  if (host.limits.outbound) wanted.push("policyd-rate-limit");
  // fail2ban reads the journal through python3-systemd, which is only a Recommends of it.
  if (host.bans.enabled) wanted.push("fail2ban", "python3-systemd");
  if (host.firewall.backend !== "auto" && host.firewall.backend !== "none") wanted.push(host.firewall.backend);
  return renderBundle({
    host: host.name,
    packages: wanted,
    mailname: host.hostname,
    ondestroy: host.packages.onDestroy,
    protocols: Object.values(DOVECOT_PROTOCOL_PACKAGES),
    replaced: Object.entries(PACKAGED_DAEMONS).map(([p, units]) => `${p} ${units.join(" ")}`),
  });
}
