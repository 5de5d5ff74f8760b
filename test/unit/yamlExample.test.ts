/**
 * examples/yaml, checked as far as it can be here: the engine kit's YAML language host cannot load a component from
 * source, so the program is never run (the README says so). What is YAML-specific is checked instead: the
 * package it names is our plugin folder, the resource type is the component's, every interpolation names a
 * declared config key or one of the component's outputs, and the properties, filled in with sample values, are
 * args the schema accepts.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseHost } from "../../components/config/parse";
import { HOST_OUTPUT_NAMES } from "../../components/outputs";
import { HOST_KEY, PASSWORD, SSH_KEY } from "./fixtures";

const DIR = join(__dirname, "../../examples/yaml");

interface YamlProgram {
  runtime: string;
  packages: Record<string, string>;
  config: Record<string, { type: string; secret?: boolean }>;
  resources: Record<string, { type: string; properties: unknown }>;
  outputs: unknown;
}

const program = parse(readFileSync(join(DIR, "Pulumi.yaml"), "utf8")) as YamlProgram;

/** What an operator would set with `pulumi config set` (the secrets with --secret). */
const SAMPLE: Record<string, string> = {
  hostname: "mail.example.com",
  address: "192.0.2.10",
  hostKey: HOST_KEY,
  privateKey: SSH_KEY,
  login: "alice@example.com",
  password: PASSWORD,
};

/** Every `${…}` of a YAML value. */
function interpolations(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1] ?? "");
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(interpolations);
  return [];
}

/** The value with each `${key}` that is a whole string replaced by the key's sample. */
function filledIn(value: unknown): unknown {
  if (typeof value === "string") {
    const whole = /^\$\{(\w+)\}$/.exec(value);
    return whole ? SAMPLE[whole[1] ?? ""] : value;
  }
  if (Array.isArray(value)) return value.map(filledIn);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, filledIn(v)]));
  return value;
}

describe("examples/yaml", () => {
  const mx = program.resources.mx;

  it("takes the component from the plugin folder, under its own type", () => {
    expect(program.runtime).toBe("yaml");
    expect(existsSync(join(DIR, program.packages["mail-submission"] ?? "", "PulumiPlugin.yaml"))).toBe(true);
    // `pkg:Name` is YAML's short form of `pkg:index:Name`.
    expect(mx?.type.replace(/^([^:]+):([^:]+)$/, "$1:index:$2")).toBe("mail-submission:index:MailSubmission");
  });

  it("declares every config key it reads, keeps the key and the password secret, and exports real outputs", () => {
    expect(interpolations(mx?.properties).sort()).toEqual(Object.keys(program.config).sort());
    expect(Object.keys(SAMPLE).sort()).toEqual(Object.keys(program.config).sort());
    expect(Object.entries(program.config).filter(([, c]) => c.secret).map(([k]) => k)).toEqual(["privateKey", "password"]);
    for (const ref of interpolations(program.outputs)) {
      expect(ref).toMatch(/^mx\./);
      expect(HOST_OUTPUT_NAMES as string[]).toContain(ref.slice(3));
    }
  });

  it("gives the component args that the schema accepts", () => {
    const host = parseHost({ name: "mx", ...(filledIn(mx?.properties) as object) }, "mx");
    expect(host.connection.host).toBe("192.0.2.10");
    expect(host.certificate.mode).toBe("ca");
    expect(host.users.map((u) => u.name)).toEqual(["alice@example.com"]);
  });
});
