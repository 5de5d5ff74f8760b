/** What the bench measures on and around the sandbox hosts: wall time, the hosts' CPU time, SSH logins. */
import { readFileSync } from "node:fs";
import { sshLogins } from "../harness/scenario";
import type { SandboxHost } from "../harness/sandbox";

/** CPU seconds a host (its whole cgroup: systemd, daemons, maintainer scripts) has used since it booted. */
export function hostCpuSeconds(name: string): number {
  const stat = readFileSync(`/sys/fs/cgroup/unified/mail-submission-sandbox/${name}/cpu.stat`, "utf8");
  return Number(/^usage_usec (\d+)$/m.exec(stat)?.[1] ?? 0) / 1e6;
}

export interface Timed<T> {
  seconds: number;
  /** CPU seconds the hosts used meanwhile. */
  hostCpu: number;
  /** sshd logins on the hosts meanwhile, per host. */
  logins: number[];
  value: T;
}

/** Runs `fn`, measuring wall time, the hosts' CPU and their SSH logins. */
export async function timed<T>(hosts: SandboxHost[], fn: () => Promise<T>): Promise<Timed<T>> {
  const cpu0 = hosts.reduce((s, h) => s + hostCpuSeconds(h.name), 0);
  const start = Date.now();
  const value = await fn();
  const end = Date.now();
  const hostCpu = hosts.reduce((s, h) => s + hostCpuSeconds(h.name), 0) - cpu0;
  // The journal query is itself a login, made after `end`, so it is not counted.
  const logins = await Promise.all(hosts.map((h) => sshLogins(h, start, end)));
  return { seconds: (end - start) / 1000, hostCpu, logins, value };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function stats(xs: number[]): { min: number; median: number; max: number } {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}
