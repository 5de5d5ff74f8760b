/**
 * The component's args may hold `pulumi.Input`s at any depth: a VM's address, a key from a secret store, a whole
 * object from another language's SDK (Pulumi hands a multi-language component any input that has dependencies or
 * is secret as an Output). Settling waits for each of them, so that the schema validates plain values once they
 * are known, and keeps what the values carried: the resources they come from (the steps must depend on them:
 * they SSH into that VM, and destroy must reach it before it is gone), which were secret, and which are still
 * unknown (a preview before the VM exists).
 */
import * as pulumi from "@pulumi/pulumi";
import { formatPath } from "./parse";

/**
 * Members of every Output that the SDK marks @internal (@pulumi/pulumi is pinned, and the unit tests exercise
 * them through Pulumi's mocks): whether the value is known, the value itself, and the resources it comes from.
 */
interface OutputState {
  readonly isKnown: Promise<boolean>;
  promise(withUnknowns?: boolean): Promise<unknown>;
  resources(): Set<pulumi.Resource>;
}

export interface Settled {
  /** The args as plain data; an unknown value is left out (undefined). */
  readonly value: unknown;
  /** Dotted paths (as config errors name them) of the values not known yet. */
  readonly unknown: readonly string[];
  /** Paths of the single values (not objects or lists) that arrived as secrets. */
  readonly secret: readonly string[];
  /** The resources the values come from. */
  readonly resources: readonly pulumi.Resource[];
  /** One of the unknown values, so that what follows from them is unknown too. */
  readonly pending?: pulumi.Output<unknown>;
}

const isPromise = (v: unknown): v is Promise<unknown> => v instanceof Promise;

/** True when the args hold an Output or a promise anywhere, i.e. they can only be validated once settled. */
export function holdsInputs(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || isPromise(value)) return true;
  if (value === null || typeof value !== "object" || pulumi.Resource.isInstance(value)) return false;
  return Object.values(value).some(holdsInputs);
}

export async function settle(value: unknown): Promise<Settled> {
  const unknown: string[] = [];
  const secret: string[] = [];
  const resources = new Set<pulumi.Resource>();
  let pending: pulumi.Output<unknown> | undefined;
  const walk = async (v: unknown, at: readonly PropertyKey[]): Promise<unknown> => {
    if (isPromise(v)) return walk(await v, at);
    if (pulumi.Output.isInstance(v)) {
      const state = v as unknown as OutputState;
      const path = formatPath("", at);
      for (const r of state.resources()) resources.add(r);
      const isSecret = await pulumi.isSecret(v);
      if (!(await state.isKnown)) {
        unknown.push(path);
        pending ??= v;
        return undefined;
      }
      const inner = await state.promise();
      // A secret object or list is secret for the secrets it holds, which the schema names and the component keeps
      // secret; a secret single value is secret itself.
      if (isSecret && (inner === null || typeof inner !== "object")) secret.push(path);
      return walk(inner, at);
    }
    if (Array.isArray(v)) return Promise.all(v.map((e, i) => walk(e, [...at, i])));
    if (v !== null && typeof v === "object" && !pulumi.Resource.isInstance(v)) {
      const entries = await Promise.all(Object.entries(v).map(async ([k, e]) => [k, await walk(e, [...at, k])] as const));
      return Object.fromEntries(entries.filter(([, e]) => e !== undefined));
    }
    return v;
  };
  const settled = await walk(value, []);
  return { value: settled, unknown, secret, resources: [...resources], ...(pending === undefined ? {} : { pending }) };
}
