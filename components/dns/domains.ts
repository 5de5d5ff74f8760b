/**
 * The mail domains a host serves: where its SRV records (dns/render.ts) and its client autoconfiguration files
 * (autoconfig/) are published. One definition, so that both always name the same domains.
 */
import type { HostConfig } from "../config/resolve";

/** `srvDomains` as configured; by default the users' domains, or the hostname's parent without any address login. */
export function servedDomains(host: HostConfig): string[] {
  if (host.srvDomains !== undefined) return [...host.srvDomains];
  const fromUsers = host.users.map((u) => u.name.split("@")[1]).filter((d): d is string => d !== undefined);
  const parent = host.hostname.split(".").slice(1).join(".");
  const domains = fromUsers.length > 0 ? fromUsers : [parent];
  return [...new Set(domains.map((d) => d.toLowerCase()))].sort();
}
