/**
 * The ratelimit step's data: for each kind of limit, its policyd-rate-limit configuration and where things go; the
 * template unit and the daily purge. No kind at all means the limits are off, and the step takes our instances away
 * if they were there.
 */
import type { HostConfig } from "../config/resolve";
import { renderBundle, type Bundle } from "../host/bundle";
import { ratelimitPaths } from "../host/contract";
import { ratelimitKinds, renderCleanService, renderCleanTimer, renderRatelimitConf, renderRatelimitUnit } from "./render";

export function ratelimitBundle(host: HostConfig): string {
  const kinds = ratelimitKinds(host);
  const bundle: Bundle = { host: host.name, unit: renderRatelimitUnit(), "clean-service": renderCleanService(kinds), "clean-timer": renderCleanTimer() };
  // `KIND UNIT CONF SOCKET`: where each instance's files go, so that no path is retyped in shell.
  bundle.layout = kinds.map((k) => [k, ratelimitPaths.unit(k), ratelimitPaths.conf(k), ratelimitPaths.socket(k)].join(" "));
  for (const k of kinds) bundle[`conf.${k}`] = renderRatelimitConf(host, k);
  return renderBundle(bundle);
}
