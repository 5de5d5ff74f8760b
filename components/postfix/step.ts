/** The postfix step's data: master.cf entries and -o settings for `postconf -M`/`-P`, the tables, what to rehearse. */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { enabledPorts } from "../host/contract";
import { renderPostfix, type PostfixPlan } from "./render";

/** The lines the host script feeds to `postconf -M` and `postconf -P`, and the tables by file name. */
export function postfixBundle(plan: PostfixPlan): Record<string, string | string[]> {
  const bundle: Record<string, string | string[]> = {
    mapdir: plan.mapVersion,
    services: plan.services.map((s) => `${s.key}=${s.line}`),
    params: plan.services.flatMap((s) => Object.entries(s.params).map(([k, v]) => `${s.key}/${k}=${v}`)),
  };
  for (const [name, content] of Object.entries(plan.files)) bundle[`file.${name}`] = content;
  return bundle;
}

/**
 * The postfix step rehearses with the same client checks as the check step, against the certificate already on the
 * host, so that a rotated certificate re-runs only the certificate step and the check.
 */
export function postfixStepBundle(host: HostConfig): string {
  const plan = renderPostfix(host);
  return renderBundle({ host: host.name, ...postfixBundle(plan), known: ownParameters(host, plan), ports: enabledPorts(host.services, false), hostname: host.hostname });
}

/**
 * The parameters our services set (not the escape hatch's): the host refuses a Postfix that does not know one of
 * them, since Postfix only warns about an unknown -o and the promise it carries would silently not hold.
 */
function ownParameters(host: HostConfig, plan: PostfixPlan): string[] {
  const names = new Set(plan.services.flatMap((s) => Object.keys(s.params)));
  for (const extra of Object.keys(host.postfixExtraSettings)) names.delete(extra);
  return [...names].sort();
}
