/** The shapes shared by the verify CLI's parts: what is checked (targets), how (options) and what was found (rows). */

export type Status = "PASS" | "WARN" | "FAIL" | "SKIP";

/** One line of the report: one check of one port of one host. */
export interface Row {
  host: string;
  /** The port the check is about (an SRV row: the port the record must name). */
  port: number;
  check: string;
  status: Status;
  detail: string;
}

/** A submission service and the port a client uses for it. */
export type Service = "submissions" | "submission";

export const SERVICE_PORTS: Readonly<Record<Service, number>> = { submissions: 465, submission: 587 };

/** A mailbox service over implicit TLS, served when the stack turns it on (or --imaps / --pop3s asks for it). */
export type MailboxService = "imaps" | "pop3s";

export const MAILBOX_PORTS: Readonly<Record<MailboxService, number>> = { imaps: 993, pop3s: 995 };

export interface Target {
  /** What the report calls the host: the stack's host name, or the command-line argument. */
  label: string;
  /** Where to connect: an IP address or a DNS name. */
  address: string;
  /** The name the certificate must be valid for, sent as SNI. */
  hostname: string;
  /** The services the target is meant to run, with their ports; a service missing here is skipped, not failed. */
  services: Partial<Record<Service, number>>;
  /** IMAPS/POP3S to check; one missing here is not checked at all (most hosts serve mailboxes elsewhere). */
  mailbox?: Partial<Record<MailboxService, number>>;
  /** Trust anchor published by the stack (its `ca` mode); --ca-file takes precedence. */
  caPem?: string;
  /** SHA-256 of the deployed leaf certificate (stack output), to detect a certificate replaced behind Pulumi's back. */
  certificateSha256?: string;
}

export interface Credentials {
  user: string;
  password: string;
}

export interface Options {
  timeoutMs: number;
  warnDays: number;
  failDays: number;
  /** PEM text of --ca-file; undefined means the system trust store. */
  caPem?: string;
  credentials?: Credentials;
  /** Set with --send: a message is submitted after AUTH on each port. */
  send?: { from: string; to: string };
  /** Recipient for the unauthenticated relay attempt: a domain the server must not relay to. */
  relayTo: string;
  srvDomains: string[];
  dnsServers: string[];
  /** Whether to look at port 25 (on by default; --no-port25 skips a host whose 25 is filtered and slow to time out). */
  port25: boolean;
}
