/**
 * The DNS records mail clients use to find the submission service (RFC 6186 §3.1, RFC 8314 §5.1), as zone-file
 * lines. A service that is switched off is published as "not available" (target ".", RFC 6186 §4).
 */
import type { HostConfig } from "../config/resolve";
import { ports } from "../host/contract";
import { servedDomains } from "./domains";

export function renderSrvRecords(host: HostConfig): string[] {
  const target = `${host.hostname}.`;
  return servedDomains(host).flatMap((domain) => {
    const record = (service: string, on: boolean, port: number, priority: number) =>
      on ? `_${service}._tcp.${domain}. 3600 IN SRV ${priority} 1 ${port} ${target}` : `_${service}._tcp.${domain}. 3600 IN SRV 0 0 0 .`;
    const records = [
      // RFC 8314 §5.1: implicit TLS (465) is preferred over STARTTLS (587), so it gets the lower priority value.
      record("submissions", host.services.submissions, ports.submissions, 0),
      record("submission", host.services.submission, ports.submission, 10),
    ];
    // Only what we serve: the host may publish its own IMAP or POP3, which is not ours to declare "not available".
    if (host.services.imaps) records.push(record("imaps", true, ports.imaps, 0));
    if (host.services.pop3s) records.push(record("pop3s", true, ports.pop3s, 0));
    return records;
  });
}
