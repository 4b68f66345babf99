import fastJson from "fast-json-stringify";
import type { FastifyServerOptions } from "fastify";

type Serializer = (value: unknown) => string;
type SerializerFactory = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>["buildSerializer"] & {};

/** Serializers by what they are compiled from: the schema, the shared schemas and the options, as JSON. */
const serializers = new Map<string, Serializer>();

/**
 * Fastify's own serializer factory (`@fastify/fast-json-stringify-compiler`: fast-json-stringify with the
 * shared schemas, less the one being compiled) with one difference: a process compiles a given answer
 * schema once. Each server Fastify builds compiles every route's answer schemas anew, the same
 * schemas to the same code; a process that builds many (the test suites start hundreds, and a third of
 * each start went here) builds each once. A compiled serializer is a pure
 * function of what it is compiled from, which is its key here.
 */
export const buildSerializer: SerializerFactory = (externalSchemas, serializerOpts) => {
  const shared = (externalSchemas ?? {}) as Record<string, unknown>;
  const options = JSON.stringify(serializerOpts ?? {});
  let sharedJson: string | undefined;
  return ({ schema }) => {
    const id = (schema as { $id?: string }).$id;
    // A shared schema compiled as a route's own is left out of the shared ones, as Fastify's factory does.
    const apart = id !== undefined && id in shared;
    const others = apart ? Object.fromEntries(Object.entries(shared).filter(([key]) => key !== id)) : shared;
    const key = `${options}\n${apart ? JSON.stringify(others) : (sharedJson ??= JSON.stringify(shared))}\n${JSON.stringify(schema)}`;
    let serializer = serializers.get(key);
    if (!serializer) {
      serializer = fastJson(schema as Parameters<typeof fastJson>[0], { ...(serializerOpts as object), schema: others as Record<string, Parameters<typeof fastJson>[0]> }) as Serializer;
      serializers.set(key, serializer);
    }
    return serializer;
  };
};
