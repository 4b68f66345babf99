import SerializerSelector from "@fastify/fast-json-stringify-compiler";
import type { FastifyServerOptions } from "fastify";

type Serializer = (value: unknown) => string;
type SerializerFactory = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>["buildSerializer"] & {};

/** Serializers by what they are compiled from: the options, the shared schemas and the schema, as JSON. */
const serializers = new Map<string, Serializer>();
const fastifyFactory = SerializerSelector();

/**
 * Fastify's own serializer factory with one difference: a process compiles a given answer schema once.
 * Each server Fastify builds compiles every route's answer schemas anew, the same schemas to the same
 * code; a process that builds many (the test suites start hundreds, and a third of each start went
 * here) builds each once. A compiled serializer is a pure function of what it is compiled from, which
 * is its key here.
 */
export const buildSerializer: SerializerFactory = (externalSchemas, serializerOpts) => {
  const compile = fastifyFactory(externalSchemas, serializerOpts as Parameters<typeof fastifyFactory>[1]);
  const compiledWith = `${JSON.stringify(serializerOpts ?? {})}\n${JSON.stringify(externalSchemas ?? {})}`;
  return (route) => {
    const key = `${compiledWith}\n${JSON.stringify(route.schema)}`;
    let serializer = serializers.get(key);
    if (!serializer) {
      serializer = compile(route as Parameters<typeof compile>[0]);
      serializers.set(key, serializer);
    }
    return serializer;
  };
};
