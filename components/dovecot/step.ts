/**
 * The dovecot step's data: the instance's dovecot.conf in both syntaxes (the host picks the one its Dovecot reads),
 * its unit, the ports it binds, and the passwd-file of hashes. Secret: the step's stdin is marked so.
 */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { enabledDovecotServices, ports } from "../host/contract";
import { renderDovecot, renderDovecotUnit, renderPasswdFile } from "./render";

export function dovecotBundle(host: HostConfig, userHashes: readonly { name: string; hash: string }[]): string {
  return renderBundle({
    host: host.name,
    backend: host.authBackend,
    "conf-2.3": renderDovecot(host, "2.3"),
    "conf-2.4": renderDovecot(host, "2.4"),
    unit: renderDovecotUnit(),
    ports: enabledDovecotServices(host.services).map((s) => `${ports[s]} ${s}`),
    passwd: renderPasswdFile(userHashes),
  });
}
