/** The report: a table for people, JSON for machines, and the exit code. Pure functions of the rows. */
import type { Row, Status } from "./types";

const STATUSES: readonly Status[] = ["PASS", "WARN", "FAIL", "SKIP"];

export function counts(rows: readonly Row[]): Record<Status, number> {
  const c: Record<Status, number> = { PASS: 0, WARN: 0, FAIL: 0, SKIP: 0 };
  for (const r of rows) c[r.status] += 1;
  return c;
}

/** 0 when nothing failed (warnings included), 1 when anything did. Usage errors (2) never reach a report. */
export function exitCode(rows: readonly Row[]): 0 | 1 {
  return rows.some((r) => r.status === "FAIL") ? 1 : 0;
}

export function summary(rows: readonly Row[]): string {
  const c = counts(rows);
  return `verify: ${STATUSES.map((s) => `${c[s]} ${s}`).join(", ")}`;
}

export function renderTable(rows: readonly Row[]): string {
  const header = ["HOST", "PORT", "CHECK", "STATUS", "DETAIL"];
  const cells = rows.map((r) => [r.host, String(r.port), r.check, r.status, r.detail.replace(/\s+/g, " ")]);
  // The last column is not padded: details vary in length and trailing blanks only make diffs noisy.
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]): string => [...c.slice(0, -1).map((v, i) => v.padEnd(widths[i] ?? 0)), c.at(-1) ?? ""].join("  ").trimEnd();
  return [line(header), ...cells.map(line), "", summary(rows)].join("\n") + "\n";
}

export function renderJson(rows: readonly Row[]): string {
  return JSON.stringify({ ok: exitCode(rows) === 0, counts: counts(rows), results: rows }, null, 2) + "\n";
}
