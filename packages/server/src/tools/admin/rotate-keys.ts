import { UsageError, type AdminCommand } from "./command.js";

/** The API's rotation (POST /security/v1/signing-keys/rotate) for whoever has the server machine. */
export const rotateKeysCommand: AdminCommand = {
  name: "rotate-keys",
  args: "",
  summary: "a new token signing key signs; older keys verify until their tokens expire",
  checkArgs(args) {
    if (args.length !== 0) throw new UsageError("rotate-keys takes no arguments.");
  },
  async run(_args, { server, actor }) {
    const [current, ...older] = await server.deps.signingKeys.rotate(actor);
    return `new signing key ${current!.kid} (${current!.algorithm}) signs on every node within a minute; ${older.length === 1 ? "1 older key verifies until its tokens expire" : `${older.length} older keys verify until their tokens expire`}`;
  },
};
