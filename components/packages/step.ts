/** The packages step's data: what the other steps need installed, and what destroy does with what it brought. */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";

export function packagesBundle(host: HostConfig): string {
  const wanted = ["postfix", "dovecot-core", "openssl", "ca-certificates"];
  if (host.services.imaps) wanted.push("dovecot-imapd");
  if (host.firewall.backend !== "auto" && host.firewall.backend !== "none") wanted.push(host.firewall.backend);
  return renderBundle({ host: host.name, packages: wanted, mailname: host.hostname, ondestroy: host.packages.onDestroy });
}
