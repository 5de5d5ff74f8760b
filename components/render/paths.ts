/** Where things live on the host, computed once so renderers and scripts agree. */
export const paths = {
  tlsDir: "/etc/mail-submission/tls",
  certChain: "/etc/mail-submission/tls/fullchain.pem",
  certKey: "/etc/mail-submission/tls/privkey.pem",
  postfixMapDir: "/etc/postfix/mail-submission",
  dovecotDropIn: "/etc/dovecot/conf.d/99-mail-submission.conf",
  dovecotPasswd: "/etc/dovecot/mail-submission.passwd",
  /** Relative to Postfix's queue directory, so it works chrooted or not (SASL_README). */
  saslSocket: "private/auth",
  saslSocketAbsolute: "/var/spool/postfix/private/auth",
} as const;

export const ports = { submissions: 465, submission: 587, imaps: 993 } as const;
export type ServiceName = keyof typeof ports;
