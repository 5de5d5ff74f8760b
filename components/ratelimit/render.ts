/**
 * Per-login sending limits by policyd-rate-limit (Debian's package), in instances of our own: one counts messages
 * per hour, one recipients per day, each with its own configuration, socket and database, run by our template unit.
 * Only our submission services ask them (postfix/render.ts); a host's own policyd-rate-limit is never read or
 * changed. Pure. Reference: policyd-rate-limit.yaml(5).
 *
 * Debian 13's policyd-rate-limit (1.2) counts at DATA: `count_mode` 2 counts one per message, 1 the message's
 * recipients. Debian 12's (1.0.1) knows no count_mode and counts each accepted RCPT TO. Our services ask both
 * instances at RCPT and at DATA, and each version counts at the one stage it counts at and answers `dunno` at the
 * other, so one configuration serves both; on Debian 12, messagesPerHour therefore counts recipients too.
 */
import type { HostConfig } from "../config/resolve";
import { HOST_PATHS, RATELIMIT_KINDS, ratelimitPaths, type RatelimitKind } from "../host/contract";

const MANAGED = "# Managed by mail-submission (pulumi). Removed again by `pulumi destroy`.";

interface KindSpec {
  readonly countMode: 1 | 2;
  readonly windowSeconds: number;
  readonly limit: (l: { readonly messagesPerHour?: number; readonly recipientsPerDay?: number }) => number | undefined;
  /** The reply's text: what was reached, and that the client is to retry. */
  readonly reached: string;
}

export const KINDS: Readonly<Record<RatelimitKind, KindSpec>> = {
  messages: { countMode: 2, windowSeconds: 3600, limit: (l) => l.messagesPerHour, reached: "this login has sent its messages for this hour" },
  recipients: { countMode: 1, windowSeconds: 86400, limit: (l) => l.recipientsPerDay, reached: "this login has reached its recipients for today" },
};

/** The instances a host runs: both, or none when outbound limits are off. */
export function ratelimitKinds(host: HostConfig): RatelimitKind[] {
  return host.limits.outbound ? [...RATELIMIT_KINDS] : [];
}

/** What a client gets while the limits cannot be checked, in `defer` mode (the database failing, here). */
export const LIMITER_DOWN_REPLY = "451 4.3.5 Sending limits cannot be checked now; try again later";

/** The reply a login over its limit gets: 450 4.7.1, so that the client keeps the mail and retries. */
export function limitReply(kind: RatelimitKind): string {
  return `450 4.7.1 Sending limit reached: ${KINDS[kind].reached}; try again later`;
}

/**
 * The instance's configuration. Written as JSON, which YAML reads as it is: every value is quoted and escaped by
 * JSON.stringify, so no login name or text can break the file's grammar.
 */
export function renderRatelimitConf(host: HostConfig, kind: RatelimitKind): string {
  const spec = KINDS[kind];
  const defaultLimit = spec.limit(host.limits) ?? 1;
  const byLogin: Record<string, [number, number][]> = {};
  for (const [login, own] of Object.entries(host.limits.perLogin)) {
    const n = spec.limit(own);
    // Dovecot hands Postfix the login in lower case (auth_username_format), and that is the name that is counted.
    if (n !== undefined) byLogin[login.toLowerCase()] = [[n, spec.windowSeconds]];
  }
  const failure = host.limits.whenLimiterDown === "defer" ? LIMITER_DOWN_REPLY : "dunno";
  const conf = {
    debug: false,
    user: ratelimitPaths.user,
    // Group postfix, socket mode 0660: Postfix, and only Postfix, can reach the limiter (the daemon gives its
    // directories to this group when it starts).
    group: "postfix",
    pidfile: ratelimitPaths.pidfile(kind),
    backend: 0,
    sqlite_config: { database: ratelimitPaths.db(kind) },
    SOCKET: ratelimitPaths.socket(kind),
    socket_permission: 0o660,
    limits: [[defaultLimit, spec.windowSeconds]],
    limits_by_id: byLogin,
    // Debian 13's version reads this without a default of its own: no limits from SQL.
    sql_limits_by_id: "",
    limit_by_sasl: true,
    limit_by_sender: false,
    limit_by_ip: false,
    limited_networks: [],
    count_mode: spec.countMode,
    success_action: "dunno",
    fail_action: limitReply(kind),
    // The database failing is the limiter failing: the same choice as a limiter that does not answer.
    db_error_action: failure,
    report: false,
    delay_to_close: 300,
  };
  return `${MANAGED}\n${JSON.stringify(conf, null, 2)}\n`;
}

/** The template unit: `mail-submission-ratelimit@messages`, `@recipients`. */
export function renderRatelimitUnit(): string {
  return [
    MANAGED,
    "[Unit]",
    "Description=policyd-rate-limit for mail-submission: %i per login on the submission services",
    "Documentation=man:policyd-rate-limit(8) man:policyd-rate-limit.yaml(5)",
    "After=network.target",
    "Before=postfix.service",
    "",
    "[Service]",
    "Type=simple",
    // Started as root, it makes its directories and then drops to the user of its configuration.
    `ExecStart=${HOST_PATHS.RATELIMIT_BIN} --file ${ratelimitPaths.conf("%i")}`,
    "KillSignal=SIGINT",
    `RuntimeDirectory=${ratelimitPaths.runtimeDirectory("%i")}`,
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The daily purge of counts that no window looks at any more (policyd-rate-limit --clean), for each instance. */
export function renderCleanService(kinds: readonly RatelimitKind[]): string {
  return [
    MANAGED,
    "[Unit]",
    "Description=mail-submission: purge old sending counts of the per-login limits",
    "",
    "[Service]",
    "Type=oneshot",
    ...kinds.map((k) => `ExecStart=${HOST_PATHS.RATELIMIT_BIN} --clean --file ${ratelimitPaths.conf(k)}`),
    "",
  ].join("\n");
}

export function renderCleanTimer(): string {
  return [MANAGED, "[Unit]", "Description=mail-submission: daily purge of old sending counts", "", "[Timer]", "OnCalendar=daily", "Persistent=true", "", "[Install]", "WantedBy=timers.target", ""].join("\n");
}
