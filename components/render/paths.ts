/**
 * Where things live on the host. The scripts in ../scripts name the same paths; a unit test keeps the two in step.
 */
export const paths = {
  certChain: "/etc/mail-submission/tls/fullchain.pem",
  certKey: "/etc/mail-submission/tls/privkey.pem",
  postfixMapDir: "/etc/postfix/mail-submission",
  dovecotPasswd: "/etc/dovecot/mail-submission.passwd",
  /** Relative to Postfix's queue directory, so it works chrooted or not (SASL_README). */
  saslSocket: "private/auth",
  saslSocketAbsolute: "/var/spool/postfix/private/auth",
} as const;

export const ports = { submissions: 465, submission: 587, imaps: 993 } as const;
export type ServiceName = keyof typeof ports;

/** The services switched on for a host, in port order (465, 587, 993). */
export function enabledServices(services: Readonly<Record<ServiceName, boolean>>): ServiceName[] {
  return (Object.keys(ports) as ServiceName[]).filter((s) => services[s]);
}
