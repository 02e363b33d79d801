/**
 * Request bodies: how large they may be, and their shapes, described once as the JSON Schema the OpenAPI document publishes
 * (scripts/openapi.ts takes these objects as they are), and checked here against that same
 * description. Only what these bodies use is understood: an object of string fields (with
 * minLength, maxLength, pattern) or string-or-number fields (anyOf), `required`, and
 * `additionalProperties: false`. Each failure is one message naming the field.
 */

/** The largest request body the admin API and the OAuth endpoints read: 16 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

/** A field: a string with limits, or a string or a number. `description` is the message for a failed pattern or anyOf. */
export type FieldSchema =
  | { type: "string"; minLength?: number; maxLength?: number; pattern?: string; description?: string }
  | { anyOf: [{ type: "string" }, { type: "number" }]; description: string };

export interface BodySchema {
  type: "object";
  properties: Record<string, FieldSchema>;
  required: string[];
  additionalProperties?: false;
}

/** What is wrong with `body` under `schema` (the first thing, fields in order, then unknown ones), or undefined. */
export function bodyProblem(schema: BodySchema, body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "the body must be a JSON object";
  const fields = body as Record<string, unknown>;
  for (const [name, field] of Object.entries(schema.properties)) {
    const value = fields[name];
    if (value === undefined) {
      if (schema.required.includes(name)) return `${name} is required`;
      continue;
    }
    if ("anyOf" in field) {
      if (typeof value !== "string" && typeof value !== "number") return `${name}: ${field.description}`;
      continue;
    }
    if (typeof value !== "string") return `${name} must be a string`;
    if (field.minLength !== undefined && value.length < field.minLength) return `${name} must not be empty`;
    if (field.maxLength !== undefined && value.length > field.maxLength)
      return `${name} is longer than ${field.maxLength} characters`;
    if (field.pattern !== undefined && !new RegExp(field.pattern).test(value)) return field.description;
  }
  if (schema.additionalProperties === false)
    for (const name of Object.keys(fields))
      if (!Object.hasOwn(schema.properties, name)) return `unknown field ${JSON.stringify(name)}`;
  return undefined;
}
