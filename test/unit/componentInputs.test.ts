/**
 * Args that come from other resources (`pulumi.Input`s), with Pulumi's mocks: the component validates them once
 * they are known, reports a bad one as its own error with the key's path, keeps the resources they came from as
 * dependencies of every step, and, in a preview where one is still unknown, checks what it can and waits.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { MailSubmission, type MailSubmissionArgs } from "../../components/mailSubmission";
import { HOST_OUTPUT_NAMES } from "../../components/outputs";
import { HOST_KEY, makeCert, PASSWORD, SSH_KEY } from "./fixtures";

interface Created {
  type: string;
  name: string;
  resource: pulumi.Resource;
  opts: pulumi.CustomResourceOptions;
}

const VM_ADDRESS = "192.0.2.44";
const PEM = makeCert();

/** Mocks for one mode: the "vm" command's stdout is the server's address, left unknown in preview. */
async function mocks(preview: boolean): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.name === "vm" && !preview) state.stdout = VM_ADDRESS;
        if (args.type === "tls:index/privateKey:PrivateKey") Object.assign(state, { privateKeyPem: "KEY", privateKeyPemPkcs8: "KEY", publicKeyPem: "PUBLIC" });
        if (args.type === "tls:index/selfSignedCert:SelfSignedCert") state.certPem = PEM.cert;
        if (args.type === "command:remote:Command") state.stdout = args.name.endsWith("-firewall") ? "backend=nftables\n" : "";
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "mail-submission",
    "test",
    preview,
  );
}

/**
 * A component that fails after construction rejects its outputs with one ResourceError, and in a real program
 * Pulumi's runtime takes every unhandled rejection, reports each distinct error once, and fails the update. Here the
 * test plays that part while `during` runs (vitest's own handler would count each rejection as a failure of its
 * own) and returns the distinct errors.
 */
async function rejections(during: () => Promise<void>): Promise<unknown[]> {
  const theirs = process.listeners("unhandledRejection");
  const seen = new Set<unknown>();
  const ours = (e: unknown) => seen.add(e);
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", ours);
  try {
    await during();
    // Rejections are reported after the microtasks that make them.
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.off("unhandledRejection", ours);
    for (const l of theirs) process.on("unhandledRejection", l);
  }
  return [...seen];
}

/** The internal promise of an Output, which rejects when the Output does (apply would never call back). */
const settled = <T>(o: pulumi.Output<T>): Promise<T> => (o as unknown as { promise(): Promise<T> }).promise();

/** Waits for every output, so that the component has registered them before the next test changes the mocks. */
async function finished(c: MailSubmission): Promise<void> {
  await Promise.allSettled(HOST_OUTPUT_NAMES.map((k) => settled(c[k] as pulumi.Output<unknown>)));
  // The registration of the outputs follows them by a few turns of the event loop.
  await new Promise((r) => setTimeout(r, 100));
}

function build(name: string, args: (vm: command.local.Command) => MailSubmissionArgs): { component: MailSubmission; created: Created[]; vm: command.local.Command } {
  const vm = new command.local.Command("vm", { create: "true" });
  const created: Created[] = [];
  const capture: pulumi.ResourceTransformation = (a) => {
    if (a.type !== "mail-submission:index:MailSubmission") created.push({ type: a.type, name: a.name, resource: a.resource, opts: a.opts });
    return undefined;
  };
  return { component: new MailSubmission(name, args(vm), { transformations: [capture] }), created, vm };
}

const fromVm = (vm: command.local.Command, extra: Partial<MailSubmissionArgs> = {}): MailSubmissionArgs => ({
  hostname: "mail.example.com",
  connection: { host: vm.stdout, privateKey: pulumi.secret(SSH_KEY), hostKey: HOST_KEY },
  users: pulumi.output([{ name: "alice@example.com", password: pulumi.secret(PASSWORD) }]),
  ...extra,
});

describe("args from other resources, at up", () => {
  it("deploy to the address another resource gives, with every step depending on that resource", async () => {
    await mocks(false);
    const { component, created, vm } = build("mx1", (v) => fromVm(v));
    // Nothing is registered before the values are known.
    expect(created).toEqual([]);
    expect(await settled(component.endpoints)).toEqual(["submissions://mail.example.com:465", "submission://mail.example.com:587"]);
    expect(await pulumi.isSecret(component.endpoints)).toBe(false);
    const steps = created.filter((c) => c.type === "command:remote:Command");
    expect(steps).toHaveLength(9);
    for (const step of steps) {
      expect(step.opts.dependsOn as pulumi.Resource[], step.name).toContain(vm);
      const cmd = step.resource as command.remote.Command;
      expect((await settled(cmd.connection as pulumi.Output<{ host: string }>)).host).toBe(VM_ADDRESS);
    }
    // The password, secret in an Output, is hashed here: the step's stdin holds the hash, and is secret.
    const dovecot = steps.find((s) => s.name === "mx1-dovecot")?.resource as command.remote.Command;
    const stdin = await settled(dovecot.stdin as pulumi.Output<string>);
    expect(stdin).toContain("alice@example.com:{SHA512-CRYPT}$6$");
    expect(stdin).not.toContain(PASSWORD);
    expect(await pulumi.isSecret(dovecot.stdin as pulumi.Output<string>)).toBe(true);
    await finished(component);
  });

  it("report a bad value from an Output as the component's error, once, with its key, and register nothing", async () => {
    await mocks(false);
    let created: Created[] = [];
    let error: unknown;
    const reported = await rejections(async () => {
      const built = build("mx2", (v) => fromVm(v, { hostname: pulumi.output("not a name"), extraSans: pulumi.output(["also bad"]) }));
      created = built.created;
      error = await settled(built.component.endpoints).catch((e: unknown) => e);
    });
    expect(pulumi.ResourceError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("mx2.hostname: must be a fully qualified DNS name");
    expect((error as Error).message).toContain("mx2.extraSans[0]: must be a fully qualified DNS name");
    // One error for the runtime to report, not one per output (nor a serialization error of the registered outputs).
    expect(reported).toEqual([error]);
    expect(created).toEqual([]);
  });

  it("make the outputs secret when a value they may show arrived secret", async () => {
    await mocks(false);
    const { component } = build("mx3", (v) => fromVm(v, { hostname: pulumi.secret("mail.example.com") }));
    expect(await settled(component.endpoints)).toContain("submissions://mail.example.com:465");
    expect(await pulumi.isSecret(component.endpoints)).toBe(true);
    await finished(component);
  });
});

describe("args from other resources, in a preview before they exist", () => {
  it("check the known keys, say what waits, and plan the steps at up", async () => {
    await mocks(true);
    const info = vi.spyOn(pulumi.log, "info");
    const { component, created } = build("mx4", (v) => fromVm(v));
    // Unknown outputs never resolve in a preview; give the settling a moment, then look.
    await new Promise((r) => setTimeout(r, 200));
    expect(created).toEqual([]);
    expect(info.mock.calls.map((c) => String(c[0]))).toContain("mx4: not known yet: connection.host; the rest checked, and the steps planned, once known (at up)");
    expect(component.endpoints).toBeInstanceOf(pulumi.Output);
    info.mockRestore();
  });

  it("still refuse a bad known key while another is unknown", async () => {
    await mocks(true);
    let error: unknown;
    const reported = await rejections(async () => {
      const { component } = build("mx5", (v) => fromVm(v, { tls: { profile: "legacy" } }));
      error = await settled(component.endpoints).catch((e: unknown) => e);
    });
    expect((error as Error).message).toContain("mx5.tls.profile: Invalid option");
    expect((error as Error).message).not.toContain("connection.host");
    expect(reported).toEqual([error]);
  });
});
