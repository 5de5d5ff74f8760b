/**
 * Client autoconfiguration, in the spirit of RFC 8314 §5.1 (clients should be told to use implicit TLS): Mozilla's
 * autoconfig file, which Thunderbird and many other clients fetch before they start guessing ports (and guess 587
 * with opportunistic STARTTLS), Apple's configuration profile (autoconfig/mobileconfig.ts), and the URLs where the
 * Mozilla file is looked for. Pure: the resolved HostConfig in, file contents out.
 *
 * The Mozilla file follows https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat, of which we use:
 * `clientConfig version="1.1"`; one `emailProvider` whose id is the first served domain, with a `domain` element per
 * served domain and a `displayName`; `incomingServer type="imap"` and `outgoingServer type="smtp"`, each with
 * `hostname`, `port`, `socketType` (`SSL` = implicit TLS, `STARTTLS` = mandatory upgrade; never `plain`),
 * `authentication` `password-cleartext` (PLAIN/LOGIN, which our servers offer only inside TLS) and `username` as a
 * placeholder the client fills in from the address the user typed. Servers are listed in order of preference: the
 * client takes the first it can use and keeps the others as alternatives, so 465 comes before 587. Nothing else of
 * the format (pop3, OAuth2, documentation, instructions, enable pages) applies to this component.
 */
import type { HostConfig } from "../config/resolve";
import { servedDomains } from "../dns/domains";
import { ports } from "../host/contract";
import { renderAppleMobileconfig } from "./mobileconfig";
import { escapeXml } from "./xml";

export type LoginPlaceholder = "%EMAILADDRESS%" | "%EMAILLOCALPART%";

export interface Autoconfig {
  /** Mozilla's config-v1.1.xml; undefined without IMAPS (below). */
  readonly autoconfigXml: string | undefined;
  /** Apple's .mobileconfig, unsigned; undefined without IMAPS (autoconfig/mobileconfig.ts). */
  readonly appleMobileconfig: string | undefined;
  /** Where autoconfigXml is published for each served domain; empty when there is no file to publish. */
  readonly autoconfigUrls: string[];
}

export function renderAutoconfig(host: HostConfig): Autoconfig {
  const autoconfigXml = renderMozillaAutoconfig(host);
  return {
    autoconfigXml,
    appleMobileconfig: renderAppleMobileconfig(host),
    autoconfigUrls: autoconfigXml === undefined ? [] : autoconfigUrls(host),
  };
}

/**
 * What a client sends as its login. passwd-file logins are usually the address itself (%EMAILADDRESS%); the system
 * backend's logins are account names, which send as name@ each system domain (%EMAILLOCALPART%). One file serves every
 * user of the host, so a passwd-file host whose logins are mixed gets the placeholder that is right for most of them
 * (addresses win a tie): one local test account must not send every address login to the wrong username. The others
 * correct the username in the client once.
 */
export function loginPlaceholder(host: HostConfig): LoginPlaceholder {
  if (host.authBackend === "system") return "%EMAILLOCALPART%";
  const addresses = host.users.filter((u) => u.name.includes("@")).length;
  return addresses * 2 >= host.users.length && addresses > 0 ? "%EMAILADDRESS%" : "%EMAILLOCALPART%";
}

/**
 * Thunderbird refuses a file without an incoming server ("Need proper <incomingServer> in XML file", its
 * readFromXML), and a client then guesses as if there were no file. Without IMAPS and POP3S this host has no
 * incoming server to name, so it has no file: the operator's IMAP provider publishes the domain's file, and the
 * outgoing servers below are what to put in it. With both, IMAP comes first: a client takes the first it can use,
 * and IMAP keeps the mail on the server for the user's other devices.
 */
export function renderMozillaAutoconfig(host: HostConfig): string | undefined {
  if (!host.services.imaps && !host.services.pop3s) return undefined;
  const domains = servedDomains(host);
  const login = loginPlaceholder(host);
  const server = (element: "incomingServer" | "outgoingServer", type: "imap" | "pop3" | "smtp", port: number, socketType: "SSL" | "STARTTLS") => [
    `    <${element} type="${type}">`,
    `      <hostname>${escapeXml(host.hostname)}</hostname>`,
    `      <port>${port}</port>`,
    `      <socketType>${socketType}</socketType>`,
    `      <authentication>password-cleartext</authentication>`,
    `      <username>${login}</username>`,
    `    </${element}>`,
  ];
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<clientConfig version="1.1">`,
    `  <emailProvider id="${escapeXml(domains[0] ?? host.hostname)}">`,
    ...domains.map((d) => `    <domain>${escapeXml(d)}</domain>`),
    `    <displayName>${escapeXml(domains[0] ?? host.hostname)}</displayName>`,
    ...(host.services.imaps ? server("incomingServer", "imap", ports.imaps, "SSL") : []),
    ...(host.services.pop3s ? server("incomingServer", "pop3", ports.pop3s, "SSL") : []),
    // RFC 8314 §5.1: implicit TLS first; 587 only as the alternative, and with STARTTLS required, never plain.
    ...(host.services.submissions ? server("outgoingServer", "smtp", ports.submissions, "SSL") : []),
    ...(host.services.submission ? server("outgoingServer", "smtp", ports.submission, "STARTTLS") : []),
    `  </emailProvider>`,
    `</clientConfig>`,
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Where Thunderbird looks for the file of the domain in the user's address, for each domain the host serves (the
 * domains of its SRV records): the domain's autoconfig host first, then the domain's own well-known path.
 */
export function autoconfigUrls(host: HostConfig): string[] {
  return servedDomains(host).flatMap((d) => [`https://autoconfig.${d}/mail/config-v1.1.xml`, `https://${d}/.well-known/autoconfig/mail/config-v1.1.xml`]);
}
