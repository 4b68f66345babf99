import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { SUBJECT_MAX } from "../../federation/login-flow.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { adminActorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ifMatchVersions } from "../etag.js";
import { errorResponses, IdParams, Uuid } from "../schemas.js";
import { PATTERN_MESSAGE } from "../validation.js";

const LinkParams = Type.Object({ id: Uuid, alias: Type.String({ maxLength: 64 }) });
const Subject = Type.String({ minLength: 1, maxLength: 1024, description: "The user's `sub` at the provider" });
// A link names a subject a login can bring (unlinking takes the longer ones linked before this rule).
// Nor one with white space around it: a pasted subject's stray space would make a link no login ever uses.
const LinkBody = Type.Object(
  {
    subject: Type.String({
      minLength: 1,
      maxLength: SUBJECT_MAX,
      pattern: "^\\S([\\s\\S]*\\S)?$",
      [PATTERN_MESSAGE]: "must not start or end with white space: give the provider's sub as it is",
      description: "The user's `sub` at the provider (OpenID Connect: at most 255 characters)",
    }),
  },
  { additionalProperties: false },
);
const FederatedIdentity = Type.Object(
  { alias: Type.String(), displayName: Type.String(), subject: Type.String({ description: "The user's `sub` at the provider" }) },
  { $id: "FederatedIdentity", examples: [{ alias: "corp", displayName: "Corp SSO", subject: "248289761001" }] },
);
/** An unlink may name the subject it means (the link is removed only if it is that one); a request without a body names none. */
const UnlinkBody = Type.Object({ subject: Type.Optional(Subject) }, { additionalProperties: false });

/** A user's links to identity providers, made and removed by an administrator (a first login links by the provider's rules). */
const federatedIdentitiesRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { guard, providers, linking }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const security = [{ bearerAuth: [] }];

  app.get("/security/v1/users/:id/federated-identities", {
    onRequest: adminOnly,
    schema: {
      summary: "List a user's links to identity providers",
      description: "Each with the subject it is to (the user's `sub` at the provider), which an unlink may name; [] when there are none.",
      tags: ["users"],
      security,
      params: IdParams,
      response: { 200: Type.Array(FederatedIdentity), ...errorResponses(401, 403, 404) },
    },
  }, async (request) => linking.links(request.params.id));

  app.put("/security/v1/users/:id/federated-identities/:alias", {
    onRequest: adminOnly,
    schema: {
      summary: "Link a user to an identity provider",
      description: "The user logs in through the provider as the given subject; replaces the user's earlier link to that provider.",
      tags: ["users"],
      security,
      params: LinkParams,
      body: LinkBody,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    await linking.link(adminActorOf(request), request.params.id, await providers.load(request.params.alias), request.body.subject, ifMatchVersions(request.headers["if-match"]));
    return reply.code(204).send(null);
  });

  app.delete("/security/v1/users/:id/federated-identities/:alias", {
    onRequest: adminOnly,
    schema: {
      summary: "Unlink a user from an identity provider",
      description: "Ends the sessions the user opened through that provider. With `{\"subject\": …}`, only the link to that subject: a user linked to another subject stays linked (409).",
      tags: ["users"],
      security,
      params: LinkParams,
      body: UnlinkBody,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) },
    },
    config: { bodyOptional: true },
  }, async (request, reply) => {
    await linking.unlink(adminActorOf(request), request.params.id, await providers.load(request.params.alias), request.body.subject, ifMatchVersions(request.headers["if-match"]));
    return reply.code(204).send(null);
  });
};

export default federatedIdentitiesRoutes;
