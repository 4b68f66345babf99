/** The options `idps create` and `idps update` share, and the provider's row. */
import type { ECMIdentityProvider, IdentityProviderFields } from "ecm-sdk";
import { flagPair, str } from "../../args.js";
import type { Ctx, OptionHelp, Options } from "../../command.js";
import { UsageError } from "../../errors.js";
import { findGroup, groupNamer } from "../../lookup.js";
import { textCells, type Row } from "../../output.js";
import { readStdin } from "../../prompt.js";

export const IDP_COLUMNS = ["alias", "displayName", "enabled", "guiOrder", "clientId", "issuer"];
export const IDP_DETAIL_COLUMNS = [
  ...IDP_COLUMNS, "fromUrl", "clientSecret", "redirectUri", "authorizationUrl", "tokenUrl", "userInfoUrl", "jwksUrl", "scopes", "clientAuthMethod",
  "usernameClaim", "emailClaim", "firstNameClaim", "lastNameClaim", "groupsClaim", "trustEmail", "defaultGroupList", "customGroupList", "id",
];

/** The provider with its `config` beside its other fields. */
export const idpRow = (p: ECMIdentityProvider): Row => ({ ...p, ...p.config });

/** The provider in full: a table or CSV names its groups (`admins=staff`), JSON keeps the API's guids and objects. */
export async function idpDetailRow(ctx: Ctx, p: ECMIdentityProvider): Promise<Row> {
  if (!textCells(ctx.format)) return idpRow(p);
  const name = await groupNamer(ctx, [...p.defaultGroupList, ...p.customGroupList.map((m) => m.localGroupId)]);
  return { ...idpRow(p), defaultGroupList: p.defaultGroupList.map(name), customGroupList: p.customGroupList.map((m) => `${m.idpGroupName}=${name(m.localGroupId)}`) };
}

/** Where the client secret comes from (never an argument). */
export const CLIENT_SECRET_OPTIONS = "--client-secret-stdin or ECM_CLIENT_SECRET";

/** Endpoints and claims by option name → the field of `config`. */
const CONFIG_OPTIONS = {
  issuer: "issuer",
  "authorization-url": "authorizationUrl",
  "token-url": "tokenUrl",
  "userinfo-url": "userInfoUrl",
  "jwks-url": "jwksUrl",
  "auth-method": "clientAuthMethod",
  "username-claim": "usernameClaim",
  "email-claim": "emailClaim",
  "first-name-claim": "firstNameClaim",
  "last-name-claim": "lastNameClaim",
  "groups-claim": "groupsClaim",
} as const;

export const IDP_OPTIONS: Options = {
  "display-name": { type: "string", short: "n" },
  "from-url": { type: "string", short: "u" },
  "client-id": { type: "string" },
  "client-secret-stdin": { type: "boolean" },
  "gui-order": { type: "string" },
  enable: { type: "boolean" },
  disable: { type: "boolean" },
  "trust-email": { type: "boolean" },
  "no-trust-email": { type: "boolean" },
  scopes: { type: "string" },
  "default-group": { type: "string", short: "g", multiple: true },
  map: { type: "string", short: "m", multiple: true },
  ...Object.fromEntries(Object.keys(CONFIG_OPTIONS).map((o) => [o, { type: "string" as const }])),
};

export const IDP_OPTION_HELP: OptionHelp[] = [
  ["-n, --display-name TEXT", "shown on the login page"],
  ["-u, --from-url URL", "the issuer or its discovery document: the endpoints are read from it"],
  ["--client-id ID", "the client registered at the provider"],
  ["--client-secret-stdin", "read the client secret from standard input (else ECM_CLIENT_SECRET)"],
  ["--gui-order N", "position on the login page"],
  ["--enable | --disable"],
  ["--trust-email | --no-trust-email", "link a first login to the local user with the same, verified, email"],
  ["--scopes \"openid profile\"", "scopes to ask for (openid is required)"],
  ["-g, --default-group GROUP", "a group every user of the provider joins (repeatable; replaces the list)"],
  ["-m, --map IDPGROUP=GROUP", "a value of the groups claim → a local group (repeatable; replaces the list)"],
  ["--issuer, --authorization-url, --token-url, --userinfo-url, --jwks-url URL", "override discovery"],
  ["--auth-method client_secret_basic|client_secret_post|none"],
  ["--username-claim, --email-claim, --first-name-claim, --last-name-claim, --groups-claim NAME"],
];

/** The fields the options set; the client secret comes from stdin or ECM_CLIENT_SECRET, never from an argument. */
export async function idpFields(ctx: Ctx): Promise<IdentityProviderFields> {
  const v = ctx.values;
  const fields: IdentityProviderFields = {};
  const config: NonNullable<IdentityProviderFields["config"]> = {};
  if (str(v, "display-name") !== undefined) fields.displayName = str(v, "display-name");
  if (str(v, "from-url") !== undefined) fields.fromUrl = str(v, "from-url");
  if (str(v, "client-id") !== undefined) fields.clientId = str(v, "client-id");
  if (v["client-secret-stdin"]) fields.clientSecret = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
  else if (ctx.io.env.ECM_CLIENT_SECRET) fields.clientSecret = ctx.io.env.ECM_CLIENT_SECRET;
  const order = str(v, "gui-order");
  if (order !== undefined) {
    if (!/^-?\d+$/.test(order)) throw new UsageError("--gui-order must be an integer");
    fields.guiOrder = Number(order);
  }
  const enabled = flagPair(v, "enable", "disable");
  if (enabled !== undefined) fields.enabled = enabled;
  const trust = flagPair(v, "trust-email", "no-trust-email");
  if (trust !== undefined) config.trustEmail = trust;
  const scopes = str(v, "scopes");
  if (scopes !== undefined) config.scopes = scopes.split(/[\s,]+/).filter(Boolean);
  for (const [option, field] of Object.entries(CONFIG_OPTIONS)) {
    const value = str(v, option);
    if (value !== undefined) (config as Record<string, string>)[field] = value;
  }
  const groups = v["default-group"] as string[] | undefined;
  if (groups) fields.defaultGroupList = await Promise.all(groups.map(async (g) => (await findGroup(ctx, g)).guid));
  const maps = v.map as string[] | undefined;
  if (maps) {
    fields.customGroupList = await Promise.all(
      maps.map(async (m) => {
        const eq = m.lastIndexOf("=");
        if (eq <= 0 || eq === m.length - 1) throw new UsageError(`--map ${m}: expected IDPGROUP=GROUP`);
        return { idpGroupName: m.slice(0, eq), localGroupId: (await findGroup(ctx, m.slice(eq + 1))).guid };
      }),
    );
  }
  if (Object.keys(config).length > 0) fields.config = config;
  return fields;
}
