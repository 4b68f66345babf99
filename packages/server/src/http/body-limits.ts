import type { RouteOptions } from "fastify";
import { guardOf } from "./openapi.js";

/** A body's JSON schema as TypeBox writes it, as far as its size is read from it. */
interface SizedSchema {
  type?: string;
  properties?: Record<string, SizedSchema>;
  additionalProperties?: unknown;
  maxLength?: number;
  pattern?: string;
}

/** Room for the white space a client lays a body out with (indentation, line breaks). */
const LAYOUT_BYTES = 1024;

/**
 * A pattern that holds a string to ASCII characters: one class of them, written without escapes or
 * negation (`^[A-Za-z0-9_.-]+$`).
 */
const ASCII_ONLY = /^\^\[(?!\^)[\x20-\x5b\x5e-\x7e]*\]\+\$$/;

/**
 * The largest body a schema lets through, in bytes as a client may send it at the worst: each character
 * of a string escaped — a JSON surrogate pair (`\ud83d\ude00`) or percent-encoded UTF-8 (`%F0%9F%98%80`),
 * 12 bytes; 6 (`\u0061`, `%61`) where its pattern holds it to ASCII — the names too, and room for the
 * layout. Undefined when the schema bounds no size: a string without `maxLength`, an object that takes
 * other names, anything but strings in a closed object.
 */
export function largestBody(schema: SizedSchema): number | undefined {
  if (schema.type !== "object" || schema.additionalProperties !== false) return undefined;
  let size = 2 + LAYOUT_BYTES;
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (field.type !== "string" || field.maxLength === undefined) return undefined;
    const perCharacter = field.pattern !== undefined && ASCII_ONLY.test(field.pattern) ? 6 : 12;
    // The name and the value, quoted; a colon and a comma (or `=` and `&`).
    size += 6 * name.length + 2 + 2 + field.maxLength * perCharacter + 2;
  }
  return size;
}

/**
 * A route anyone may call (no guard), or any logged-in account whatever its roles (a guard that wants
 * none: its own password), takes no larger body than its schema lets through (largestBody), refused
 * unread past it (413). A body is read whole and parsed before anything else of its request is looked
 * at: a JSON object or a form of tens of thousands of names held a worker 0.1–0.2 s each, answering no
 * one else meanwhile, before the route's attempt limits could count it. A route whose schema bounds no
 * size keeps the server's limit (`ECM_BODY_LIMIT_BYTES`), as do the routes for administrators.
 */
export function boundOpenBody(route: RouteOptions, serverLimit: number): void {
  const body = route.schema?.body as SizedSchema | undefined;
  if (body === undefined || route.bodyLimit !== undefined || (guardOf(route)?.requiredRoles.length ?? 0) > 0) return;
  const largest = largestBody(body);
  if (largest !== undefined) route.bodyLimit = Math.min(serverLimit, largest);
}
