/**
 * The config schema as zod's JSON Schema, input side (defaults shown, nothing required that has one): what the
 * README's configuration table (configDocs.ts) and the args interfaces (argsInterface.ts) are generated from, so
 * that both say what the schema says.
 */
import { z } from "zod";

/** A JSON Schema node, as much of it as the generators read. */
export interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  /** Ours, not JSON Schema's: a value the args interfaces keep plain, never an Input. */
  plain?: boolean;
}

export function inputJsonSchema(schema: z.ZodType): SchemaNode {
  // A refinement has no JSON Schema of its own: the type it refines stands for it.
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as SchemaNode;
}
