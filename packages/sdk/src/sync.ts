/// <reference types="node" preserve="true" />
// ECMSync runs on Node (worker threads) and its [Symbol.dispose] is declared by Node's types: its declarations
// load them, for TypeScript 6 and later load only the @types packages a project's "types" names.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { describeClient, inspectCustom, REQUEST_OPTIONS } from "./client.js";
import { ECMError, deserializeError, type SerializedError } from "./errors.js";
import { ExportReader } from "./export-records.js";
import { ImportResults, RefusedRecords } from "./import-users.js";
import { Transport, readAgainAfter, retryPolicy, type ECMOptions, type TokenInfo } from "./http.js";
import { checkExportGroups, EXPORT_PATH, exportQuery, knownExportGroupId, knownGroupGuid, type ExportGroupRef, type GroupRef, type UserRef } from "./security.js";
import type {
  CreateUserFields,
  DirectoryConfigToTest,
  DirectoryFields,
  DirectorySyncMode,
  ECMApiKey,
  ECMDirectory,
  ECMDirectorySync,
  ECMDirectoryTest,
  ECMIdentityProviderTest,
  ECMExport,
  ECMGroup,
  ECMUserGroup,
  ECMIdentityProvider,
  ECMImportResult,
  ECMImportSummary,
  ECMLockout,
  ECMUserSource,
  ECMUserLink,
  ECMLoginProvider,
  ECMRole,
  ECMUser,
  GroupFields,
  IdentityProviderFields,
  LinkFate,
  ImportOptions,
  ImportUserRecord,
  IterUsersOptions,
  NewDirectoryFields,
  UserFields,
  UsersOptions,
  UsersPage,
  UsersPageOptions,
} from "./types.js";
import { checkListOptions, STREAM_OPTIONS, USERS_PATH, UsersStream } from "./users-stream.js";
import { callOptions, checkOptions } from "./options.js";

/** Per-call options of ECMSync (no AbortSignal: a blocked thread cannot see it fire). */
export interface SyncCallOptions {
  timeout?: number;
}
type NoSignal<T> = Omit<T, "signal">;

/** How long the worker may give no sign of life (startup included) before a call gives up. */
const WORKER_SILENCE_MS = 30_000;

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: SerializedError;
}

const workerUrl = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);

/**
 * Starts the worker through a small bootstrap that reports a failure to load the worker module on
 * the shared port (a blocked caller never sees the Worker's "error" event). When the SDK runs from
 * its TypeScript sources (tests under tsx), the bootstrap registers tsx first: workers do not
 * inherit it. The worker needs none of the caller's flags and takes them all as given (`execArgv: []`):
 * inherited ones it may not take (`--max-old-space-size`, `--input-type`) would fail its start.
 */
function startWorker(options: ConstructorParameters<typeof Worker>[1]): Worker {
  const ts = workerUrl.pathname.endsWith(".ts");
  const code = `
    const { workerData } = require("node:worker_threads");
    const fail = (e) => {
      workerData.port.postMessage({ id: -1, ok: false, error: { name: "ECMError", message: "ECMSync worker failed to start: " + ((e && e.message) || e), status: 0, code: "", serverMessage: "" } });
      const flag = new Int32Array(workerData.flag);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    };
    (${ts} ? import("tsx/esm/api").then((m) => m.register()) : Promise.resolve())
      .then(() => import(${JSON.stringify(workerUrl.href)}))
      .catch(fail);
  `;
  try {
    return new Worker(code, { ...options, eval: true, execArgv: [] });
  } catch (error) {
    // Node's permission model (--permission) forbids threads unless --allow-worker is given.
    if ((error as { code?: unknown }).code === "ERR_ACCESS_DENIED") {
      throw new ECMError("ECMSync runs its calls on a worker thread, which this process may not start (Node's permission model): give it --allow-worker, or use ECM, whose calls need no thread.", { cause: error });
    }
    throw error;
  }
}

/** Runs calls on a worker thread and blocks on Atomics.wait until the answer arrives. */
class SyncChannel {
  readonly #options: ECMOptions;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #flag: Int32Array | undefined;
  #nextId = 1;
  /** Counts the workers started: a stream belongs to the one that opened it. */
  #generation = 0;

  constructor(options: ECMOptions) {
    this.#options = { ...options };
  }

  #start(): void {
    // [0]: answer-ready flag; [1]: heartbeat the worker bumps while it is alive.
    const sab = new SharedArrayBuffer(8);
    const { port1, port2 } = new MessageChannel();
    this.#generation++;
    this.#worker = startWorker({
      workerData: { options: this.#options, port: port2, flag: sab },
      transferList: [port2],
    });
    this.#worker.unref();
    port1.unref();
    this.#port = port1;
    this.#flag = new Int32Array(sab);
  }

  call<T>(method: string, args: unknown[]): T {
    for (const a of args) {
      if (a && typeof a === "object" && "signal" in a && (a as { signal?: unknown }).signal !== undefined) {
        throw new TypeError("ECMSync calls take no AbortSignal; use { timeout }");
      }
    }
    if (!this.#worker) this.#start();
    const port = this.#port!;
    const flag = this.#flag!;
    const id = this.#nextId++;
    Atomics.store(flag, 0, 0);
    try {
      port.postMessage({ id, method, args });
    } catch (error) {
      // A function or a symbol among the arguments (a getter not called): the caller's mistake, as ECM says it.
      if ((error as Error).name === "DataCloneError") throw new TypeError(`${method}: ${(error as Error).message} ECMSync hands its arguments to a worker thread: pass values.`);
      throw error;
    }
    // The worker enforces the call's own timeout. Here we only make sure the worker is alive: it
    // bumps a heartbeat every 250 ms; silence for long means it died or hangs, and we stop waiting.
    let beat = Atomics.load(flag, 1);
    let lastBeat = Date.now();
    for (;;) {
      Atomics.wait(flag, 0, 0, 1000);
      // Clear the flag before looking: a reply posted after the look sets it again and wakes the next wait.
      Atomics.store(flag, 0, 0);
      let msg = receiveMessageOnPort(port);
      while (msg && (msg.message as Reply).id !== id && (msg.message as Reply).id !== -1) msg = receiveMessageOnPort(port);
      if (msg) {
        const r = msg.message as Reply;
        if (r.ok) return r.value as T;
        // id -1: the worker itself failed; start a fresh one on the next call.
        if (r.id === -1) this.close();
        throw deserializeError(r.error!);
      }
      const now = Atomics.load(flag, 1);
      if (now !== beat) {
        beat = now;
        lastBeat = Date.now();
      } else if (Date.now() - lastBeat > WORKER_SILENCE_MS) {
        this.close();
        throw new ECMError(`${method}: the ECMSync worker stopped responding`);
      }
    }
  }

  /**
   * A streamed GET's bytes, read by the worker and moved here (transferred, not copied) a piece at a
   * time; the caller parses them. Stopping early cancels the request.
   */
  stream(path: string, query: Record<string, string | number | boolean | undefined>, timeout: number | undefined): Generator<Uint8Array, void, undefined> {
    const id = this.call<number>("stream.open", [path, query, timeout]);
    return this.#read(id, this.#generation);
  }

  *#read(id: number, generation: number): Generator<Uint8Array, void, undefined> {
    let open = true;
    try {
      for (;;) {
        // The stream lives in the worker that opened it: once that one is gone (close(), or it failed),
        // reading on is an error — not a new worker, logging in again, that knows no such stream.
        if (this.#generation !== generation || !this.#worker) throw new ECMError("the ECMSync client was closed, or its worker stopped, while a list was being read");
        const bytes = this.call<Uint8Array | null>("stream.read", [id]);
        if (bytes === null) break;
        yield bytes;
      }
      open = false;
    } catch (err) {
      open = false; // the worker dropped it
      throw err;
    } finally {
      if (open && this.#worker && this.#generation === generation) this.call("stream.close", [id]);
    }
  }

  close(): void {
    const w = this.#worker;
    this.#worker = undefined;
    this.#port?.close();
    this.#port = undefined;
    if (w) void w.terminate();
  }
}

/** Items of an import's source handed to the worker at once: about 64 KiB of bytes, or this many records. */
const PIECE_ITEMS = 1000;
const PIECE_BYTES = 1 << 16;

/** The next piece of a source (items up to about 64 KiB or PIECE_ITEMS records), and whether the source ended with it. */
function nextPiece(items: Iterator<Uint8Array | string | ImportUserRecord>): { piece: unknown[]; last: boolean } {
  const piece: unknown[] = [];
  let bytes = 0;
  while (piece.length < PIECE_ITEMS && bytes < PIECE_BYTES) {
    const next = items.next();
    if (next.done) return { piece, last: true };
    piece.push(next.value);
    if (typeof next.value === "string" || next.value instanceof Uint8Array) bytes += next.value.length;
  }
  return { piece, last: false };
}

/** Sleeps the calling thread (ECMSync's waits are blocking by design). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The blocking twin of {@link Security}: same methods, returning values. */
export class SecuritySync {
  readonly #ch: SyncChannel;
  readonly #options: ECMOptions;
  constructor(ch: SyncChannel, options: ECMOptions) {
    this.#ch = ch;
    this.#options = options;
  }
  #c<T>(name: string, args: unknown[]): T {
    return this.#ch.call<T>(`security.${name}`, args);
  }

  /** All users, streamed: the worker moves the answer's bytes here, where they are parsed as they come. */
  users(opts: NoSignal<UsersOptions<true>> & { extendedInfo: true }): ECMUser<true>[];
  users(opts?: NoSignal<UsersOptions<false>>): ECMUser<false>[];
  users(opts?: NoSignal<UsersOptions>): ECMUser[];
  users(opts?: NoSignal<UsersOptions>): ECMUser[] {
    const all: ECMUser[] = [];
    for (const batch of this.iterUserBatches(opts)) for (const u of batch) all.push(u);
    return all;
  }
  usersPage(opts: NoSignal<UsersPageOptions<true>> & { extendedInfo: true }): UsersPage<true>;
  usersPage(opts?: NoSignal<UsersPageOptions<false>>): UsersPage<false>;
  usersPage(opts?: NoSignal<UsersPageOptions>): UsersPage;
  usersPage(opts?: NoSignal<UsersPageOptions>): UsersPage {
    return this.#c("usersPage", [opts]);
  }
  /** Iterates over all (matching) users of one streamed request, as ECM's iterUsers does (resuming included). */
  iterUsers(opts: NoSignal<IterUsersOptions<true>> & { extendedInfo: true }): Generator<ECMUser<true>, void, undefined>;
  iterUsers(opts?: NoSignal<IterUsersOptions<false>>): Generator<ECMUser<false>, void, undefined>;
  iterUsers(opts?: NoSignal<IterUsersOptions>): Generator<ECMUser, void, undefined>;
  *iterUsers(opts?: NoSignal<IterUsersOptions>): Generator<ECMUser, void, undefined> {
    for (const batch of this.iterUserBatches(opts)) yield* batch;
  }
  /** iterUsers by batch, as ECM's iterUserBatches: the users each piece of the answer completes. */
  iterUserBatches(opts: NoSignal<IterUsersOptions<true>> & { extendedInfo: true }): Generator<ECMUser<true>[], void, undefined>;
  iterUserBatches(opts?: NoSignal<IterUsersOptions<false>>): Generator<ECMUser<false>[], void, undefined>;
  iterUserBatches(opts?: NoSignal<IterUsersOptions>): Generator<ECMUser[], void, undefined>;
  *iterUserBatches(opts?: NoSignal<IterUsersOptions>): Generator<ECMUser[], void, undefined> {
    if ((opts as { signal?: unknown } | undefined)?.signal !== undefined) throw new TypeError("ECMSync calls take no AbortSignal; use { timeout }");
    const stream = new UsersStream(opts, retryPolicy(this.#options));
    try {
      for (;;) {
        const bytes = this.#ch.stream(USERS_PATH, stream.query, opts?.timeout);
        try {
          for (const chunk of bytes) {
            const batch = stream.push(chunk);
            if (batch.length > 0) yield batch;
          }
          return stream.end();
        } catch (err) {
          sleepSync(stream.resume(err));
        }
      }
    } catch (err) {
      throw stream.ended(err);
    }
  }
  countUsers(opts?: NoSignal<Omit<UsersOptions, "extendedInfo">>): number {
    return this.#c("countUsers", [opts]);
  }
  user(username: string, opts?: SyncCallOptions): ECMUser<true> {
    return this.#c("user", [username, opts]);
  }
  getUser(userGuid: UserRef, opts?: SyncCallOptions): ECMUser<true> {
    return this.#c("getUser", [userGuid, opts]);
  }
  me(opts?: SyncCallOptions): ECMUser<true> & { hasPassword?: boolean } {
    return this.#c("me", [opts]);
  }
  changeMyPassword(currentPassword: string, newPassword: string, opts?: SyncCallOptions): void {
    return this.#c("changeMyPassword", [currentPassword, newPassword, opts]);
  }
  roles(userGuid?: UserRef | "", opts?: SyncCallOptions): ECMRole[] {
    return this.#c("roles", [userGuid, opts]);
  }
  groups(opts?: SyncCallOptions & { search?: string }): ECMGroup[] {
    return this.#c("groups", [opts]);
  }
  group(name: string, opts?: SyncCallOptions): ECMGroup {
    return this.#c("group", [name, opts]);
  }
  getGroup(groupGuid: GroupRef, opts?: SyncCallOptions): ECMGroup {
    return this.#c("getGroup", [groupGuid, opts]);
  }
  /** As ECM's groupMembers: users({ groupId }), its bytes moved here and parsed as they come. */
  groupMembers(group: GroupRef, opts: NoSignal<UsersOptions<true>> & { extendedInfo: true }): ECMUser<true>[];
  groupMembers(group: GroupRef, opts?: NoSignal<UsersOptions<false>>): ECMUser<false>[];
  groupMembers(group: GroupRef, opts?: NoSignal<UsersOptions>): ECMUser[];
  groupMembers(group: GroupRef, opts?: NoSignal<UsersOptions>): ECMUser[] {
    // The list's options are checked before anything is sent; a name is looked up with the call's options only
    // (a signal among them refused there, as every ECMSync call refuses one).
    const call = checkListOptions(opts, STREAM_OPTIONS) as SyncCallOptions;
    const groupId = knownGroupGuid(group) ?? this.group(group as string, call).guid;
    return this.users({ ...opts, groupId });
  }
  userGroups(userGuid: UserRef, opts?: SyncCallOptions & { direct?: boolean }): ECMUserGroup[] {
    return this.#c("userGroups", [userGuid, opts]);
  }
  createUser(username: string, fields: CreateUserFields & SyncCallOptions = {}): ECMUser<true> {
    return this.#c("createUser", [username, fields]);
  }
  updateUser(userGuid: UserRef, fields: UserFields & SyncCallOptions & { ifMatch?: string }): ECMUser<true> {
    return this.#c("updateUser", [userGuid, fields]);
  }
  /**
   * ECM's importUsers, blocking: a file path or bytes go to the worker whole; an iterable (of byte
   * chunks, strings or records) is handed over a piece at a time as the worker sends it, while the
   * results come back and are yielded here. The return value is the summary. Nothing is sent until
   * the generator is iterated (`for … of`).
   */
  *importUsers(
    source: string | Uint8Array | Iterable<Uint8Array | string> | Iterable<ImportUserRecord>,
    opts: NoSignal<ImportOptions> = {},
  ): Generator<ECMImportResult, ECMImportSummary, undefined> {
    if ((opts as { signal?: unknown }).signal !== undefined) throw new TypeError("ECMSync calls take no AbortSignal; use { timeout }");
    const whole = typeof source === "string" || source instanceof Uint8Array;
    if (!whole && typeof (source as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== "function") {
      throw new TypeError("ECMSync's importUsers takes a file path, bytes or an iterable (of byte chunks, strings or records); a Blob, a stream or an async iterable goes to ECM's importUsers");
    }
    const items = whole ? undefined : (source as Iterable<Uint8Array | string | ImportUserRecord>)[Symbol.iterator]();
    const id = this.#ch.call<number>("import.open", [whole ? source : undefined, opts]);
    const results = new ImportResults(new RefusedRecords());
    let sending = items !== undefined;
    let answered = false;
    try {
      for (let wanted = sending; ; ) {
        const { piece, last } = sending && wanted ? nextPiece(items!) : { piece: undefined, last: false };
        if (last) sending = false;
        const answer = this.#ch.call<{ bytes: Uint8Array | null; more: boolean; refused: ReturnType<RefusedRecords["handOver"]> }>("import.exchange", [id, piece, last]);
        results.refused.fromRecords ||= answer.refused.fromRecords;
        results.refused.add(answer.refused.results);
        if (answer.bytes) yield* results.push(answer.bytes);
        else if (!answer.more) break;
        wanted = answer.more;
      }
      answered = true;
    } finally {
      // Stopped early (an error, or the caller's break): the worker ends the request (a no-op if it already did).
      if (!answered) this.#ch.call("import.close", [id]);
    }
    return results.end();
  }
  lockUser(userGuid: UserRef, opts?: SyncCallOptions): ECMUser<true> {
    return this.#c("lockUser", [userGuid, opts]);
  }
  unlockUser(userGuid: UserRef, opts?: SyncCallOptions): ECMUser<true> {
    return this.#c("unlockUser", [userGuid, opts]);
  }
  clearLockout(userGuid: UserRef, opts?: SyncCallOptions): void {
    return this.#c("clearLockout", [userGuid, opts]);
  }
  lockout(userGuid: UserRef, opts?: SyncCallOptions): ECMLockout {
    return this.#c("lockout", [userGuid, opts]);
  }
  userSource(userGuid: UserRef, opts?: SyncCallOptions): ECMUserSource {
    return this.#c("userSource", [userGuid, opts]);
  }
  resetPassword(userGuid: UserRef, password: string, opts?: SyncCallOptions): void {
    return this.#c("resetPassword", [userGuid, password, opts]);
  }
  deleteUser(userGuid: UserRef, opts?: SyncCallOptions): void {
    return this.#c("deleteUser", [userGuid, opts]);
  }
  apiKeys(userGuid: UserRef, opts?: SyncCallOptions): ECMApiKey[] {
    return this.#c("apiKeys", [userGuid, opts]);
  }
  createApiKey(userGuid: UserRef, name: string, opts: SyncCallOptions & { expiresAt?: Date | string | null } = {}): ECMApiKey & { secret: string } {
    return this.#c("createApiKey", [userGuid, name, opts]);
  }
  revokeApiKey(userGuid: UserRef, key: string | ECMApiKey, opts?: SyncCallOptions): void {
    return this.#c("revokeApiKey", [userGuid, key, opts]);
  }
  addUserToGroup(userGuid: UserRef, groupGuid: GroupRef, opts?: SyncCallOptions): void {
    return this.#c("addUserToGroup", [userGuid, groupGuid, opts]);
  }
  removeUserFromGroup(userGuid: UserRef, groupGuid: GroupRef, opts?: SyncCallOptions): void {
    return this.#c("removeUserFromGroup", [userGuid, groupGuid, opts]);
  }
  removeUserFromAllGroups(userGuid: UserRef, opts?: SyncCallOptions): ECMGroup[] {
    return this.#c("removeUserFromAllGroups", [userGuid, opts]);
  }
  createGroup(name: string, fields: Omit<GroupFields, "name"> & SyncCallOptions = {}): ECMGroup {
    return this.#c("createGroup", [name, fields]);
  }
  updateGroup(groupGuid: GroupRef, fields: GroupFields & SyncCallOptions & { ifMatch?: string }): ECMGroup {
    return this.#c("updateGroup", [groupGuid, fields]);
  }
  deleteGroup(groupGuid: GroupRef, opts?: SyncCallOptions): void {
    return this.#c("deleteGroup", [groupGuid, opts]);
  }
  groupRoles(groupGuid: GroupRef, opts?: SyncCallOptions): ECMRole[] {
    return this.#c("groupRoles", [groupGuid, opts]);
  }
  availableGroupRoles(groupGuid: GroupRef, opts?: SyncCallOptions): ECMRole[] {
    return this.#c("availableGroupRoles", [groupGuid, opts]);
  }
  grantRole(groupGuid: GroupRef, roleName: string, opts?: SyncCallOptions): void {
    return this.#c("grantRole", [groupGuid, roleName, opts]);
  }
  revokeRole(groupGuid: GroupRef, roleName: string, opts?: SyncCallOptions): void {
    return this.#c("revokeRole", [groupGuid, roleName, opts]);
  }
  /** The export, streamed: its bytes are moved here from the worker and parsed as they come. */
  exportSecuritySystem(groupIds?: ExportGroupRef[] | null, opts?: SyncCallOptions): ECMExport {
    const c = callOptions(opts);
    checkExportGroups(groupIds);
    const guids = (groupIds ?? []).map((g) => knownExportGroupId(g) ?? this.group(g as string, c).guid);
    const retry = retryPolicy(this.#options);
    // As ECM's: a dropped connection reads the export again from its start (it has no cursor).
    for (let attempt = 0; ; attempt++) {
      const bytes = this.#ch.stream(EXPORT_PATH, exportQuery(guids), c.timeout);
      const reader = new ExportReader();
      try {
        for (const chunk of bytes) reader.push(chunk);
        return reader.end();
      } catch (err) {
        sleepSync(readAgainAfter(err, attempt, retry));
      }
    }
  }
  identityProviders(opts?: SyncCallOptions): ECMIdentityProvider[] {
    return this.#c("identityProviders", [opts]);
  }
  identityProvider(alias: string, opts?: SyncCallOptions): ECMIdentityProvider {
    return this.#c("identityProvider", [alias, opts]);
  }
  createIdentityProvider(alias: string, fields: IdentityProviderFields & { clientId: string } & SyncCallOptions): ECMIdentityProvider {
    return this.#c("createIdentityProvider", [alias, fields]);
  }
  updateIdentityProvider(alias: string, fields: IdentityProviderFields & SyncCallOptions & { links?: LinkFate }): ECMIdentityProvider {
    return this.#c("updateIdentityProvider", [alias, fields]);
  }
  deleteIdentityProvider(alias: string, opts?: SyncCallOptions): void {
    return this.#c("deleteIdentityProvider", [alias, opts]);
  }
  testIdentityProvider(alias: string, opts?: SyncCallOptions): ECMIdentityProviderTest {
    return this.#c("testIdentityProvider", [alias, opts]);
  }
  loginProviders(opts?: SyncCallOptions): ECMLoginProvider[] {
    return this.#c("loginProviders", [opts]);
  }
  userLinks(userGuid: UserRef, opts?: SyncCallOptions): ECMUserLink[] {
    return this.#c("userLinks", [userGuid, opts]);
  }
  linkUser(userGuid: UserRef, alias: string, subject: string, opts?: SyncCallOptions): void {
    return this.#c("linkUser", [userGuid, alias, subject, opts]);
  }
  unlinkUser(userGuid: UserRef, alias: string, opts?: SyncCallOptions & { subject?: string }): void {
    return this.#c("unlinkUser", [userGuid, alias, opts]);
  }
  directories(opts?: SyncCallOptions): ECMDirectory[] {
    return this.#c("directories", [opts]);
  }
  directory(id: string | ECMDirectory, opts?: SyncCallOptions): ECMDirectory {
    return this.#c("directory", [id, opts]);
  }
  createDirectory(fields: NewDirectoryFields & SyncCallOptions): ECMDirectory {
    return this.#c("createDirectory", [fields]);
  }
  updateDirectory(id: string | ECMDirectory, fields: DirectoryFields & SyncCallOptions): ECMDirectory {
    return this.#c("updateDirectory", [id, fields]);
  }
  deleteDirectory(id: string | ECMDirectory, opts?: SyncCallOptions & { users?: "disable" | "delete" }): void {
    return this.#c("deleteDirectory", [id, opts]);
  }
  testDirectory(id: string | ECMDirectory, opts?: SyncCallOptions): ECMDirectoryTest {
    return this.#c("testDirectory", [id, opts]);
  }
  testDirectoryConfig(fields: DirectoryConfigToTest & SyncCallOptions): ECMDirectoryTest {
    return this.#c("testDirectoryConfig", [fields]);
  }
  startDirectorySync(id: string | ECMDirectory, opts?: SyncCallOptions & { mode?: DirectorySyncMode; force?: boolean }): ECMDirectorySync {
    return this.#c("startDirectorySync", [id, opts]);
  }
  directorySync(id: string | ECMDirectory, opts?: SyncCallOptions): ECMDirectorySync {
    return this.#c("directorySync", [id, opts]);
  }
}

/**
 * Blocking ECM Security client for scripts: the same methods as {@link ECM}, returning values.
 * Calls run on one worker thread; the calling thread sleeps in Atomics.wait until the answer.
 * Call `close()` when done (the worker never keeps the process alive).
 */
export class ECMSync {
  readonly #ch: SyncChannel;
  readonly #baseUrl: string;
  readonly #username: string | undefined;
  readonly security: SecuritySync;

  constructor(options: ECMOptions) {
    // The options are checked here, as ECM checks them (credentials, token or API key), not first in the worker.
    const transport = new Transport(options);
    this.#baseUrl = transport.baseUrl;
    this.#username = transport.username;
    this.#ch = new SyncChannel(options);
    this.security = new SecuritySync(this.#ch, options);
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  get token(): string | undefined {
    return this.#ch.call<string | undefined>("token", []);
  }

  login(opts?: SyncCallOptions): TokenInfo {
    return this.#ch.call("login", [callOptions(opts)]);
  }

  logout(opts?: SyncCallOptions): void {
    return this.#ch.call("logout", [callOptions(opts)]);
  }

  request<T = unknown>(
    method: string,
    path: string,
    opts: SyncCallOptions & { query?: Record<string, string | number | boolean | undefined>; body?: unknown } = {},
  ): T {
    checkOptions(opts, REQUEST_OPTIONS);
    return this.#ch.call("request", [method, path, opts]);
  }

  /** Stops the worker thread. Further calls start a new one. */
  close(): void {
    this.#ch.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [inspectCustom](): string {
    return describeClient("ECMSync", this.#baseUrl, this.#username);
  }

  toJSON(): { baseUrl: string } {
    return { baseUrl: this.#baseUrl };
  }
}
