import { ECM, ECMAuthError } from "ecm-sdk";
import { str, timeoutOf } from "../../args.js";
import { apiKeyClient, serverUrl } from "../../client.js";
import type { Command } from "../../command.js";
import { readConfig, writeConfig } from "../../config.js";
import { CliError, ExitCode, UsageError } from "../../errors.js";
import { readPassword } from "../../prompt.js";

export const login: Command = {
  path: ["login"],
  args: "",
  summary: "log in and store the server URL and a token (never the password)",
  formats: [],
  options: { username: { type: "string", short: "u" }, "password-stdin": { type: "boolean" }, "api-key": { type: "boolean" } },
  optionHelp: [
    ["-u, --username NAME", "(else ECM_USERNAME, else the saved one, else sysadmin)"],
    ["--password-stdin", "read the password from standard input (else ECM_PASSWORD, else a prompt)"],
    ["--api-key", "log in with an API key (ecm_…) instead: from ECM_API_KEY, standard input\nwith --password-stdin, else a prompt; saved like a token, it does not expire"],
  ],
  async run(ctx) {
    const saved = readConfig(ctx.io.env);
    const url = serverUrl(ctx.values, ctx.io.env, saved.url);
    if (!url) throw new UsageError("no server URL: use --url or set ECM_URL");
    if (ctx.values["api-key"] === true) {
      const apiKey = (await readPassword(ctx, "ECM_API_KEY", "API key: ", false, "API key")).trim();
      const from = ctx.values["password-stdin"] ? "standard input" : ctx.io.env.ECM_API_KEY ? "ECM_API_KEY" : "the key typed";
      const ecm = apiKeyClient(url, apiKey, from, timeoutOf(ctx.values));
      // Refused, it is this key that is at fault (the usual hint, run "ecm login", is what just failed).
      const { username } = await ecm.security.me().catch((error: unknown) => {
        throw error instanceof ECMAuthError && error.code === "ECMS1101" ? new CliError(`the API key from ${from} was refused: it is unknown, expired or revoked, or its account may not log in`, ExitCode.auth) : error;
      });
      const path = writeConfig(ctx.io.env, { url: ecm.baseUrl, token: apiKey, username });
      ctx.note(`Logged in to ${ecm.baseUrl} as ${username} with an API key (saved in ${path})`);
      return;
    }
    const username = str(ctx.values, "username") ?? ctx.io.env.ECM_USERNAME ?? saved.username ?? "sysadmin";
    const password = await readPassword(ctx, "ECM_PASSWORD", `Password for ${username}: `);
    const ecm = new ECM({ baseUrl: url, username, password, ...timeoutOf(ctx.values) });
    await ecm.login();
    const path = writeConfig(ctx.io.env, { url: ecm.baseUrl, token: ecm.token!, username });
    ctx.note(`Logged in to ${ecm.baseUrl} as ${username} (token saved in ${path})`);
  },
};
