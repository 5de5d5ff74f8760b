/** The packages step's data: what the other steps need installed, and what destroy does with what it brought. */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { DOVECOT_PROTOCOL_PACKAGES, enabledDovecotServices } from "../host/contract";

export function packagesBundle(host: HostConfig): string {
  const wanted = ["postfix", "dovecot-core", "openssl", "ca-certificates"];
  wanted.push(...enabledDovecotServices(host.services).map((s) => DOVECOT_PROTOCOL_PACKAGES[s]));
  if (host.firewall.backend !== "auto" && host.firewall.backend !== "none") wanted.push(host.firewall.backend);
  return renderBundle({ host: host.name, packages: wanted, mailname: host.hostname, ondestroy: host.packages.onDestroy, protocols: Object.values(DOVECOT_PROTOCOL_PACKAGES) });
}
