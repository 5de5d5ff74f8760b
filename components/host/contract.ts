/**
 * The contract with the host: every path, port and service name that both the TypeScript side and the host scripts
 * use. The scripts never spell these out; they get them as shell variables at the top of their program
 * (host/program.ts), and a unit test fails when a script names a host path of its own. Plain data: imports nothing.
 */

/** Postfix's queue; the SASL socket lives in it so that a chrooted smtpd finds it too (SASL_README). */
const POSTFIX_SPOOL = "/var/spool/postfix";
/** Not Debian's usual `private/auth`: an operator's own Dovecot may serve that one to their own Postfix services. */
const SASL_SOCKET_IN_SPOOL = "private/mail-submission-auth";
/** Our own Dovecot instance (dovecot/render.ts): its configuration, passwd-file and unit are ours alone. */
const DOVECOT_INSTANCE_DIR = "/etc/mail-submission/dovecot";
export const DOVECOT_UNIT_NAME = "mail-submission-dovecot";
/** Our opendkim instances (dkim/render.ts), one per signing algorithm, apart from any opendkim.service of the host. */
const OPENDKIM_DIR = "/etc/mail-submission/opendkim";
export const OPENDKIM_UNIT_NAME = "mail-submission-opendkim";
/** Their sockets, in Postfix's queue like the SASL socket, so that a chrooted smtpd reaches them too. */
const OPENDKIM_SOCKET_DIR_IN_SPOOL = "mail-submission-opendkim";

/** Our policyd-rate-limit instances (ratelimit/render.ts), one per kind of limit, apart from the packaged one. */
const RATELIMIT_DIR = "/etc/mail-submission/ratelimit";
export const RATELIMIT_UNIT_NAME = "mail-submission-ratelimit";
const RATELIMIT_SOCKET_DIR = `${POSTFIX_SPOOL}/mail-submission-ratelimit`;
/** Our fail2ban instance (bans/render.ts): its own configuration directory, socket and database. */
const FAIL2BAN_DIR = "/etc/mail-submission/fail2ban";
export const FAIL2BAN_UNIT_NAME = "mail-submission-fail2ban";
/** systemd's RuntimeDirectory= of the instance: its socket and pidfile. */
const FAIL2BAN_RUN_DIR = `/run/${FAIL2BAN_UNIT_NAME}`;

export const ACME_UNIT_NAME = "mail-submission-acme";
export const CERT_WATCH_UNIT_NAME = "mail-submission-certificate";

/** What the steps record: backups of the operator's files, what they installed, each step's last run. */
const STATE_DIR = "/var/lib/mail-submission";

/** Directories and files on the host, by the shell variable the scripts know them as. */
export const HOST_PATHS = {
  STATE_DIR,
  /** Per-step locks and the rehearsal instance: gone at reboot, which is right for both. */
  RUN_DIR: "/run/mail-submission",
  REHEARSAL_DIR: "/run/mail-submission/rehearsal",
  /** Only the e2e suite creates this: it holds a step at a checkpoint (host/lib.sh `checkpoint`). */
  TEST_HOLD_DIR: "/run/mail-submission-test",
  /** Ours alone: the certificate pairs and the firewall's rules file. */
  ETC_DIR: "/etc/mail-submission",
  /** The link the daemons read the certificate pair through; switched with one rename. */
  TLS_LINK: "/etc/mail-submission/tls",
  POSTFIX_MAIN_CF: "/etc/postfix/main.cf",
  POSTFIX_MASTER_CF: "/etc/postfix/master.cf",
  /** Our lookup tables, one directory per content version. */
  POSTFIX_MAP_DIR: "/etc/postfix/mail-submission",
  POSTFIX_SPOOL,
  SASL_SOCKET: `${POSTFIX_SPOOL}/${SASL_SOCKET_IN_SPOOL}`,
  DOVECOT_INSTANCE_DIR,
  DOVECOT_CONF: `${DOVECOT_INSTANCE_DIR}/dovecot.conf`,
  DOVECOT_PASSWD: `${DOVECOT_INSTANCE_DIR}/users`,
  /** The instance's sockets and state, apart from the host Dovecot's /run/dovecot and /var/lib/dovecot. */
  DOVECOT_BASE_DIR: `/run/${DOVECOT_UNIT_NAME}`,
  DOVECOT_STATE_DIR: `/var/lib/${DOVECOT_UNIT_NAME}`,
  DOVECOT_UNIT: `/etc/systemd/system/${DOVECOT_UNIT_NAME}.service`,
  OPENDKIM_DIR,
  OPENDKIM_KEY_DIR: `${OPENDKIM_DIR}/keys`,
  OPENDKIM_SOCKET_DIR: `${POSTFIX_SPOOL}/${OPENDKIM_SOCKET_DIR_IN_SPOOL}`,
  /** A template: one instance per algorithm, `mail-submission-opendkim@rsa`, `@ed25519`. */
  OPENDKIM_UNIT: `/etc/systemd/system/${OPENDKIM_UNIT_NAME}@.service`,
  RATELIMIT_DIR,
  RATELIMIT_SOCKET_DIR,
  /** Each instance's counts (sqlite), kept across restarts so that a restart does not reset anyone's limit. */
  RATELIMIT_DB_DIR: `/var/lib/${RATELIMIT_UNIT_NAME}`,
  /** A template: `mail-submission-ratelimit@messages`, `@recipients`. */
  RATELIMIT_UNIT: `/etc/systemd/system/${RATELIMIT_UNIT_NAME}@.service`,
  /** The daily purge of counts older than the limits' windows. */
  RATELIMIT_CLEAN_SERVICE: `/etc/systemd/system/${RATELIMIT_UNIT_NAME}-clean.service`,
  RATELIMIT_CLEAN_TIMER: `/etc/systemd/system/${RATELIMIT_UNIT_NAME}-clean.timer`,
  RATELIMIT_BIN: "/usr/bin/policyd-rate-limit",
  FAIL2BAN_DIR,
  FAIL2BAN_UNIT: `/etc/systemd/system/${FAIL2BAN_UNIT_NAME}.service`,
  /** The ban history that makes repeat bans longer (bantime.increment); kept until destroy. */
  FAIL2BAN_STATE_DIR: `/var/lib/${FAIL2BAN_UNIT_NAME}`,
  /** Where the firewall step records the backend it chose (`auto` resolved); the bans go into the same one. */
  FIREWALL_BACKEND_FILE: `${STATE_DIR}/firewall/backend`,
  /** Which processes hold a port (their cgroup names the unit), and whether the kernel has IPv6. */
  PROC_DIR: "/proc",
  KERNEL_IPV6: "/proc/net/if_inet6",
  NFT_SYNC: "/usr/local/lib/mail-submission/nft-sync",
  /** acme and host modes: installs the pair the host holds, as the certificate step does (one rename, one reload). */
  CERT_INSTALL: "/usr/local/lib/mail-submission/certificate-install",
  /** Which mode made the pair being served: `pulumi` (selfSigned, ca, provided), `acme` or `host`. */
  CERT_SOURCE_FILE: `${STATE_DIR}/certificate/source`,
  /** acme: the ACME client's account, keys and certificates (lego --path), root-only. */
  ACME_DIR: `${STATE_DIR}/acme`,
  /** acme: the client's settings (args, env with the DNS credentials, ca.pem, port), root-only. */
  ACME_CONFIG_DIR: "/etc/mail-submission/acme",
  ACME_RENEW: "/usr/local/lib/mail-submission/acme-renew",
  ACME_SERVICE: `/etc/systemd/system/${ACME_UNIT_NAME}.service`,
  ACME_TIMER: `/etc/systemd/system/${ACME_UNIT_NAME}.timer`,
  /** host: the path unit that installs the host's files again whenever they change. */
  CERT_WATCH_PATH: `/etc/systemd/system/${CERT_WATCH_UNIT_NAME}.path`,
  CERT_WATCH_SERVICE: `/etc/systemd/system/${CERT_WATCH_UNIT_NAME}.service`,
  NFT_RULES: "/etc/mail-submission/nftables.rules",
  NFT_DROP_IN: "/etc/systemd/system/nftables.service.d/mail-submission.conf",
} as const;

/** File names inside each certificate pair's directory. */
export const TLS_FILES = { CERT_CHAIN_FILE: "fullchain.pem", CERT_KEY_FILE: "privkey.pem" } as const;

export const paths = {
  certChain: `${HOST_PATHS.TLS_LINK}/${TLS_FILES.CERT_CHAIN_FILE}`,
  certKey: `${HOST_PATHS.TLS_LINK}/${TLS_FILES.CERT_KEY_FILE}`,
  postfixMapDir: HOST_PATHS.POSTFIX_MAP_DIR,
  dovecotPasswd: HOST_PATHS.DOVECOT_PASSWD,
  dovecotConf: HOST_PATHS.DOVECOT_CONF,
  dovecotBaseDir: HOST_PATHS.DOVECOT_BASE_DIR,
  dovecotStateDir: HOST_PATHS.DOVECOT_STATE_DIR,
  dovecotUnit: HOST_PATHS.DOVECOT_UNIT,
  /** Only in our unit file (rendered here), where Debian's own unit has them. */
  dovecotBin: "/usr/sbin/dovecot",
  doveadmBin: "/usr/bin/doveadm",
  /** Home of IMAP users of the passwd-file backend; their mail belongs to the system user "mail". */
  virtualHome: `${HOST_PATHS.STATE_DIR}/mail`,
  /** Relative to Postfix's queue directory, so it works chrooted or not (SASL_README). */
  saslSocket: SASL_SOCKET_IN_SPOOL,
  saslSocketAbsolute: HOST_PATHS.SASL_SOCKET,
} as const;

/** The DKIM signing algorithms (RFC 6376, RFC 8463): each runs in an opendkim instance of its own, since opendkim
 * signs with one algorithm per instance. */
export const DKIM_ALGORITHMS = { rsa: "rsa-sha256", ed25519: "ed25519-sha256" } as const;
export type DkimAlgorithm = keyof typeof DKIM_ALGORITHMS;

export const dkimPaths = {
  /** `%i` in the template unit: systemd puts the instance's algorithm there. */
  conf: (alg: DkimAlgorithm | "%i") => `${OPENDKIM_DIR}/${alg}.conf`,
  keyTable: (alg: DkimAlgorithm) => `${OPENDKIM_DIR}/${alg}.keytable`,
  signingTable: (alg: DkimAlgorithm) => `${OPENDKIM_DIR}/${alg}.signingtable`,
  key: (alg: DkimAlgorithm, selector: string) => `${OPENDKIM_DIR}/keys/${selector}.${alg}.key`,
  socketAbsolute: (alg: DkimAlgorithm) => `${POSTFIX_SPOOL}/${OPENDKIM_SOCKET_DIR_IN_SPOOL}/${alg}.sock`,
  /**
   * As smtpd_milters names it: absolute, since the postfix step's rehearsal instance has a queue directory of its
   * own (a relative name would miss the socket there); our smtpd entries run outside a chroot.
   */
  milter: (alg: DkimAlgorithm) => `unix:${POSTFIX_SPOOL}/${OPENDKIM_SOCKET_DIR_IN_SPOOL}/${alg}.sock`,
  unit: (alg: DkimAlgorithm) => `${OPENDKIM_UNIT_NAME}@${alg}`,
  bin: "/usr/sbin/opendkim",
} as const;

/** The kinds of per-login limit, each counted by an instance of its own (policyd-rate-limit counts one thing). */
export const RATELIMIT_KINDS = ["messages", "recipients"] as const;
export type RatelimitKind = (typeof RATELIMIT_KINDS)[number];

export const ratelimitPaths = {
  /** `%i` in the template unit. policyd-rate-limit reads a file as YAML only when its name ends in .yaml. */
  conf: (kind: RatelimitKind | "%i") => `${RATELIMIT_DIR}/${kind}.yaml`,
  socket: (kind: RatelimitKind) => `${RATELIMIT_SOCKET_DIR}/${kind}.sock`,
  db: (kind: RatelimitKind) => `${HOST_PATHS.RATELIMIT_DB_DIR}/${kind}.sqlite3`,
  /** Under /run, systemd's RuntimeDirectory= of each instance (so `%i` in the template). */
  runtimeDirectory: (kind: RatelimitKind | "%i") => `${RATELIMIT_UNIT_NAME}-${kind}`,
  pidfile: (kind: RatelimitKind) => `/run/${RATELIMIT_UNIT_NAME}-${kind}/pid`,
  unit: (kind: RatelimitKind) => `${RATELIMIT_UNIT_NAME}@${kind}`,
  /** As check_policy_service names it: absolute, for the same reason as the DKIM milters (dkimPaths.milter). */
  policy: (kind: RatelimitKind) => `unix:${RATELIMIT_SOCKET_DIR}/${kind}.sock`,
  /** The system user Debian's package creates for the daemon. */
  user: "policyd-rate-limit",
} as const;

export const fail2banPaths = {
  conf: `${FAIL2BAN_DIR}/fail2ban.conf`,
  jail: `${FAIL2BAN_DIR}/jail.conf`,
  filter: `${FAIL2BAN_DIR}/filter.d/mail-submission.conf`,
  action: `${FAIL2BAN_DIR}/action.d/mail-submission-ban.conf`,
  /** The nftables backend's ban table, loaded whole (and so idempotently) by the action's start. */
  nftTable: `${FAIL2BAN_DIR}/bans.nft`,
  runtimeDirectory: FAIL2BAN_UNIT_NAME,
  socket: `${FAIL2BAN_RUN_DIR}/fail2ban.sock`,
  pidfile: `${FAIL2BAN_RUN_DIR}/fail2ban.pid`,
  db: `${HOST_PATHS.FAIL2BAN_STATE_DIR}/fail2ban.sqlite3`,
  server: "/usr/bin/fail2ban-server",
  client: "/usr/bin/fail2ban-client",
  /** The jail's name: in fail2ban-client's answers and in the journal's Ban/Unban lines. */
  jailName: "mail-submission",
} as const;

/** The nftables table our bans live in (nftables backend): ours alone, deleted whole when the jail stops. */
export const NFT_BAN_TABLE = "mail_submission_bans";

/**
 * Stands for main.cf's own smtpd_milters in our services' smtpd_milters: a -o value cannot name $smtpd_milters (it
 * would name itself), so the host puts main.cf's value there (host/lib.sh `with_main_milters`).
 */
export const MAIN_MILTERS_TOKEN = "@main.cf-smtpd_milters@";

export const ports = { submissions: 465, submission: 587, imaps: 993, pop3s: 995 } as const;
export type ServiceName = keyof typeof ports;

/** The services Dovecot serves to mail clients (Postfix serves the others), each with the protocol it speaks. */
export const DOVECOT_PROTOCOLS = { imaps: "imap", pop3s: "pop3" } as const;
export type DovecotService = keyof typeof DOVECOT_PROTOCOLS;

/** Debian's package for each: installing one makes every Dovecot on the host serve that protocol. */
export const DOVECOT_PROTOCOL_PACKAGES: Readonly<Record<DovecotService, string>> = { imaps: "dovecot-imapd", pop3s: "dovecot-pop3d" };

/** The daemons Debian starts with a package that our own instances stand in for (packages/packages.sh stops them
 * when we brought the package; `dovecot` is the RHEL family's name). */
export const PACKAGED_DAEMONS: Readonly<Record<string, readonly string[]>> = {
  "dovecot-core": ["dovecot.socket", "dovecot.service"],
  dovecot: ["dovecot.socket", "dovecot.service"],
  opendkim: ["opendkim.service"],
  "policyd-rate-limit": ["policyd-rate-limit.service"],
  fail2ban: ["fail2ban.service"],
};

export function isDovecotService(s: ServiceName): s is DovecotService {
  return Object.hasOwn(DOVECOT_PROTOCOLS, s);
}

/** The services switched on for a host, in port order (465, 587, 993, 995). */
export function enabledServices(services: Readonly<Record<ServiceName, boolean>>): ServiceName[] {
  return (Object.keys(ports) as ServiceName[]).filter((s) => services[s]);
}

/** The IMAPS/POP3S services switched on, in port order. */
export function enabledDovecotServices(services: Readonly<Record<ServiceName, boolean>>): DovecotService[] {
  return enabledServices(services).filter(isDovecotService);
}

/** The ports of the services switched on, optionally without Dovecot's (which Postfix does not serve). */
export function enabledPorts(services: Readonly<Record<ServiceName, boolean>>, withDovecot: boolean): string[] {
  return enabledServices(services)
    .filter((s) => withDovecot || !isDovecotService(s))
    .map((s) => String(ports[s]));
}

/** The cleanup(8) service that hides the client's IP; only our submission services use it. */
export const CLEANUP_SERVICE = "msub-cleanup";

/**
 * The wildcard address of each family, as master.cf names a service bound to it. The postfix step drops the
 * entries of a family that main.cf's inet_protocols (or the kernel) leaves out.
 */
export const LISTEN_ALL = { ipv4: "0.0.0.0", ipv6: "[::]" } as const;

/** The system user that owns the mail of passwd-file users (Debian's base-passwd fixes its uid at 8). */
export const VIRTUAL_MAIL_UID = 8;

/** Where the rehearsal instance starts looking for free loopback ports for its 465 and 587. */
export const REHEARSAL_PORTS = { submissions: 41465, submission: 41587 } as const;

/** The comment that tags our nftables rules, so that they, and only they, are found and removed again. */
export const NFT_COMMENT = 'comment "mail-submission"';
/** The tag of the port an ACME challenge opens for its few seconds (its own, so the submission openings stay). */
export const ACME_CHALLENGE_COMMENT = "mail-submission-acme-challenge";

/** The command search path every step runs with. */
export const HOST_SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The shell variables every host program starts with, by name: the whole contract as the scripts see it. */
export function contractVariables(): Record<string, string> {
  return {
    ...HOST_PATHS,
    ...TLS_FILES,
    PORT_SUBMISSIONS: String(ports.submissions),
    PORT_SUBMISSION: String(ports.submission),
    PORT_IMAPS: String(ports.imaps),
    PORT_POP3S: String(ports.pop3s),
    NFT_COMMENT,
    DOVECOT_UNIT_NAME,
    RATELIMIT_USER: ratelimitPaths.user,
    FAIL2BAN_UNIT_NAME,
    ACME_UNIT_NAME,
    CERT_WATCH_UNIT_NAME,
    ACME_CHALLENGE_COMMENT,
    NFT_BAN_TABLE,
    FAIL2BAN_CONF: fail2banPaths.conf,
    FAIL2BAN_JAIL: fail2banPaths.jail,
    FAIL2BAN_FILTER: fail2banPaths.filter,
    FAIL2BAN_ACTION: fail2banPaths.action,
    FAIL2BAN_NFT_TABLE: fail2banPaths.nftTable,
    FAIL2BAN_CLIENT: fail2banPaths.client,
    FAIL2BAN_JAIL_NAME: fail2banPaths.jailName,
    MAIN_MILTERS_TOKEN,
    LISTEN_ALL_IPV4: LISTEN_ALL.ipv4,
    LISTEN_ALL_IPV6: LISTEN_ALL.ipv6,
    REHEARSAL_PORT_SUBMISSIONS: String(REHEARSAL_PORTS.submissions),
    REHEARSAL_PORT_SUBMISSION: String(REHEARSAL_PORTS.submission),
    HOST_SEARCH_PATH,
  };
}
