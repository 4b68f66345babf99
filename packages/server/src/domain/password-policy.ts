import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";
import type { PasswordPolicySettings } from "../config.js";
import { DomainError } from "./errors.js";
import { fold } from "./user-fields.js";

/** Why zxcvbn finds a password easy to guess, in words for the person choosing it (its warning keys). */
const WEAKNESS: Record<string, string> = {
  straightRow: "it is a row of keys on the keyboard",
  keyPattern: "it is a short keyboard pattern",
  simpleRepeat: "it repeats characters",
  extendedRepeat: "it repeats a short pattern",
  sequences: "it is a common sequence of characters",
  recentYears: "it is built on a recent year",
  dates: "it is built on a date",
  topTen: "it is one of the ten most used passwords",
  topHundred: "it is one of the hundred most used passwords",
  common: "it is a commonly used password",
  similarToCommon: "it is a commonly used password with small changes",
  wordByItself: "it is a single common word",
  namesByThemselves: "it is a name",
  commonNames: "it is built on common names",
  userInputs: "it is built on the account's own names",
};

/** The account a password is for: the password must not be its names, nor built on them. */
export interface PasswordOwner {
  username: string;
  loginName?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
}

/** The letters of a text, folded: what is left of a password once separators, digits and case are set aside. */
const lettersOf = (text: string) => fold(text).replace(/[^\p{L}]/gu, "");

/**
 * Whether the password's letters are nothing but the account's names (first, last, username, login
 * name, the email's local part), in any order, any of them repeated: `Quenneville.Bartholomew1` for
 * Bartholomew Quenneville, `jsmith-jsmith` for jsmith. zxcvbn scores such a password by its parts and
 * may find it strong.
 */
function madeOfNames(password: string, owner: PasswordOwner): boolean {
  const letters = lettersOf(password);
  const names = [...new Set([owner.firstName, owner.lastName, owner.username, owner.loginName, owner.email?.split("@")[0]].map((n) => lettersOf(n ?? "")))].filter((n) => n.length >= 3);
  // ends[i]: the first i letters are names one after another.
  const ends = [true, ...Array<boolean>(letters.length).fill(false)];
  for (let i = 0; i < letters.length; i++) if (ends[i]) for (const name of names) if (letters.startsWith(name, i)) ends[i + name.length] = true;
  return letters.length > 0 && ends[letters.length]!;
}

/**
 * zxcvbn with its common-password dictionary, made once per process: it ranks the whole dictionary
 * when made, and a check takes the account's names as its own argument, so every policy of a process
 * that builds several servers (the test suites) shares it.
 */
let sharedZxcvbn: ZxcvbnFactory | undefined;

/**
 * The rules every new password follows, on every path that sets one (create, reset, own change,
 * import, the start-up password): a minimum length, not the account's username or login name, and
 * not easy to guess — a known common password, a variant of one, a keyboard pattern or the account's
 * own names — by zxcvbn's estimate with its common-password dictionary.
 */
export class PasswordPolicy {
  private readonly zxcvbn: ZxcvbnFactory | null;

  constructor(private readonly settings: PasswordPolicySettings) {
    this.zxcvbn = settings.minStrength > 0 ? (sharedZxcvbn ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs })) : null;
  }

  /** Throws an `invalid` DomainError that says why, naming `field`, when the password breaks a rule. */
  check(password: string, owner: PasswordOwner, field: string): void {
    const refuse = (why: string, rule: string) => new DomainError("invalid", `${field} is refused: ${why}.`, { field, rule });
    if ([...password].length < this.settings.minLength) throw refuse(`it must be at least ${this.settings.minLength} characters long`, "length");
    const names = [owner.username, owner.loginName].filter((n): n is string => !!n).map(fold);
    if (names.includes(fold(password))) throw refuse("it must not be the username or login name", "name");
    if (madeOfNames(password, owner)) throw refuse("it is built on the account's own names, whatever joins them; a few unrelated words make a strong one", "name");
    if (!this.zxcvbn) return;
    const inputs = [owner.username, owner.loginName, owner.firstName, owner.lastName, owner.email, owner.email?.split("@")[0]].filter((n): n is string => !!n);
    const result = this.zxcvbn.check(password, inputs);
    if (result.score >= this.settings.minStrength) return;
    const warning = result.feedback.warning ? WEAKNESS[result.feedback.warning] : undefined;
    throw refuse(`it is too easy to guess (${warning ?? "it is built from common words, names or patterns"}); a few unrelated words make a strong one`, "common");
  }
}
