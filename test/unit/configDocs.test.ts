import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configRows, configTable, TABLE_END, TABLE_START } from "../../scripts/configDocs";

describe("the README's configuration table", () => {
  const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");

  it("is the one generated from the schema (run `npm run docs` after changing it)", () => {
    const table = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END) + TABLE_END.length);
    expect(table).toBe(configTable());
  });

  it("documents every key, with the schema's defaults", () => {
    const rows = configRows();
    expect(rows.filter((r) => r.description === undefined || r.description.trim() === "").map((r) => r.key)).toEqual([]);
    const byKey = new Map(rows.map((r) => [r.key, r]));
    expect(byKey.get("hosts[].connection.port")?.default).toBe("`22`");
    expect(byKey.get("hosts[].limits.authPerMinute")?.default).toBe("`10`");
    expect(byKey.get("hosts[].certificate.mode")?.default).toBe("`selfSigned`");
    expect(byKey.get("hosts[].firewall.allow.submission")?.default).toBe('`["0.0.0.0/0","::/0"]`');
    expect(byKey.get("hosts[].certificate.earlyRenewalHours (`provided`)")?.default).toBe("`720`");
    // The stack's name is the program's input, not a key of the stack config.
    expect([...byKey.keys()].some((k) => k === "stack")).toBe(false);
  });
});
