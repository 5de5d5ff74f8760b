/**
 * Apple's configuration profile for Mail (iOS, iPadOS, macOS): an XML property list with PayloadType Configuration
 * and one com.apple.mail.managed payload, unsigned (the README says how to sign it). The keys are Apple's Device
 * Management "Mail" payload (developer.apple.com/documentation/devicemanagement/mail). The profile names no user:
 * without EmailAddress and the usernames, the device asks for them when the profile is installed, so one profile
 * serves every user of the host.
 */
import { createHash } from "node:crypto";
import type { HostConfig } from "../config/resolve";
import { ports } from "../host/contract";
import { escapeXml } from "./xml";

type PlistValue = string | number | boolean | readonly PlistValue[] | { readonly [key: string]: PlistValue };

/**
 * The Mail payload requires an incoming server (IncomingMailServerHostName, EmailAccountType): a profile with only
 * SMTP does not install. Without IMAPS and POP3S this host has none to name, so there is no profile; pointing the
 * incoming side at some other server would be a guess, and a wrong guess installs a broken account. The payload
 * names one incoming server: IMAP when it is on (the mail stays on the server for the user's other devices), else POP.
 */
export function renderAppleMobileconfig(host: HostConfig): string | undefined {
  if (!host.services.imaps && !host.services.pop3s) return undefined;
  const imap = host.services.imaps;
  const hostname = host.hostname.toLowerCase();
  const identifier = `${hostname.split(".").reverse().join(".")}.mail-submission`;
  // 465 whenever it is on (RFC 8314 §5.1). Apple's one outgoing server falls back to 587 only when 465 is off; there,
  // UseSSL true makes the client require STARTTLS.
  const outgoingPort = host.services.submissions ? ports.submissions : ports.submission;
  const mail: PlistValue = {
    EmailAccountDescription: `Mail (${hostname})`,
    EmailAccountType: imap ? "EmailTypeIMAP" : "EmailTypePOP",
    IncomingMailServerAuthentication: "EmailAuthPassword",
    IncomingMailServerHostName: hostname,
    IncomingMailServerPortNumber: imap ? ports.imaps : ports.pop3s,
    IncomingMailServerUseSSL: true,
    OutgoingMailServerAuthentication: "EmailAuthPassword",
    OutgoingMailServerHostName: hostname,
    OutgoingMailServerPortNumber: outgoingPort,
    OutgoingMailServerUseSSL: true,
    // One login for both sides: Dovecot authenticates IMAP, POP3 and SMTP AUTH alike.
    OutgoingPasswordSameAsIncomingPassword: true,
    PayloadDisplayName: `Mail (${hostname})`,
    PayloadIdentifier: `${identifier}.mail`,
    PayloadType: "com.apple.mail.managed",
    PayloadUUID: stableUuid(`mail.${host.name}.${hostname}`),
    PayloadVersion: 1,
  };
  const profile: PlistValue = {
    PayloadContent: [mail],
    PayloadDisplayName: `Mail (${hostname})`,
    PayloadIdentifier: identifier,
    PayloadRemovalDisallowed: false,
    PayloadType: "Configuration",
    PayloadUUID: stableUuid(`profile.${host.name}.${hostname}`),
    PayloadVersion: 1,
  };
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
    `<plist version="1.0">`,
    ...plist(profile, ""),
    `</plist>`,
    "",
  ].join("\n");
}

function plist(value: PlistValue, indent: string): string[] {
  if (typeof value === "string") return [`${indent}<string>${escapeXml(value)}</string>`];
  if (typeof value === "boolean") return [`${indent}<${value}/>`];
  if (typeof value === "number") {
    // Every number here is a port or a version; a fraction would need <real>, which nothing here wants.
    if (!Number.isInteger(value)) throw new Error(`plist: ${value} is not an integer`);
    return [`${indent}<integer>${value}</integer>`];
  }
  const inner = `${indent}  `;
  if (isArray(value)) return [`${indent}<array>`, ...value.flatMap((v) => plist(v, inner)), `${indent}</array>`];
  return [`${indent}<dict>`, ...Object.entries(value).flatMap(([k, v]) => [`${inner}<key>${escapeXml(k)}</key>`, ...plist(v, inner)]), `${indent}</dict>`];
}

/** Array.isArray does not narrow a readonly array out of a union; this does. */
function isArray(value: PlistValue): value is readonly PlistValue[] {
  return Array.isArray(value);
}

/** RFC 9562's namespace for DNS names: our names are DNS names with a label in front. */
const DNS_NAMESPACE = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

/**
 * A name-based UUID (version 5, RFC 9562 §5.5): the same host gives the same PayloadUUIDs on every run, so an
 * unchanged config gives no diff, and a device that installs the profile again replaces the old one rather than
 * adding a second.
 */
export function stableUuid(name: string): string {
  const digest = createHash("sha1").update(Buffer.from(DNS_NAMESPACE.replace(/-/g, ""), "hex")).update(name, "utf8").digest();
  const bytes = digest.subarray(0, 16);
  // The version (5) in the high nibble of byte 6, the RFC variant (0b10) in the top bits of byte 8.
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase();
}
