import { createHash } from "node:crypto";
import { mergeDirectory, toRowValues } from "../directory/config.js";
import { recordAudit } from "../domain/audit.js";
import { groupNameColumns, userNameColumns } from "../domain/names.js";
import { USERS_GROUP } from "../domain/roles.js";
import { defaultDisplayName, emailKeyOf, fold, searchTextFor } from "../domain/user-fields.js";
import { DEFAULT_SETTINGS, storedConfig } from "../federation/providers.js";
import type { Insertable } from "kysely";
import type { FederatedIdentitiesTable, NewUserRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";

/**
 * Deterministic demo data at scale: the same `seed` and user count always give the same users,
 * groups and memberships (only uuids of other writers and timestamps differ).
 */

const FIRST_NAMES = [
  "Anna", "Hans", "Peter", "Maria", "Thomas", "Julia", "Michael", "Laura", "Stefan", "Sarah", "Andreas", "Lena",
  "Jürgen", "Jörg", "Björn", "Sören", "Zoë", "Chloé", "Renée", "Émile", "Noël", "François", "Agnès", "Inès",
  "Łukasz", "Paweł", "Małgorzata", "Wojciech", "Żaneta", "Bartłomiej", "Agnieszka", "Krzysztof",
  "Søren", "Ørjan", "Åse", "Bjørn", "Kjærsti", "Ærling", "Sigrún", "Þóra", "Ðani", "Ólafur",
  "Ζωή", "Νίκος", "Γιώργος", "Ελένη", "Δημήτρης", "Σοφία", "Иван", "Ольга", "Дмитрий", "Наталья",
  "José", "María", "Jesús", "Lucía", "Iñaki", "Begoña", "João", "Conceição", "Gonçalo", "Açucena",
  "Çağrı", "Şule", "Gökhan", "Ayşe", "İlker", "Dvořák", "Tomáš", "Jiří", "Zuzana", "Štěpán",
  "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "David", "Linda", "William", "Elizabeth",
  "Richard", "Susan", "Joseph", "Jessica", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Betty",
  "Wei", "Fang", "Hiroshi", "Yuki", "Min-jun", "Seo-yeon", "Aarav", "Priya", "Mohammed", "Fatima",
  "Oliver", "Emma", "Noah", "Mia", "Liam", "Sophie", "Lukas", "Hannah", "Felix", "Clara",
];

const LAST_NAMES = [
  "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
  "Schäfer", "Köhler", "Groß", "Krüger", "Böhm", "Jäger", "Größer", "Weiß", "Fuß", "Strauß",
  "Øster", "Sørensen", "Ødegård", "Bråten", "Lindstrøm", "Åberg", "Ærø", "Kjær", "Hæstad", "Mørk",
  "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Łukaszewicz",
  "Παπαδόπουλος", "Οικονόμου", "Γεωργίου", "Ζωγράφος", "Иванов", "Смирнов", "Кузнецов", "Попов",
  "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Núñez", "Ibáñez",
  "Gonçalves", "Conceição", "Magalhães", "Simões", "Araújo", "Yılmaz", "Kaya", "Demir", "Çelik", "Şahin",
  "Dvořák", "Novák", "Svoboda", "Procházka", "Kučera", "Lefèvre", "Dubois", "Moreau", "Laurent", "Bérénger",
  "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
  "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
  "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
  "O'Brien", "O'Connor", "McDonald", "MacLeod", "Van der Berg", "De la Cruz", "Saint-Pierre", "Ahn", "Kim", "Park",
  "Tanaka", "Suzuki", "Watanabe", "Wang", "Li", "Zhang", "Chen", "Singh", "Kumar", "Patel",
];

const EMAIL_DOMAINS = ["example.com", "corp.example.org", "mail.example.net", "ecm-security.test", "außendienst.example.de"];
const DEPARTMENTS = ["finance", "hr", "legal", "sales", "marketing", "engineering", "support", "operations", "records", "audit", "procurement", "logistics"];
const SITES = ["berlin", "münchen", "zürich", "kraków", "oslo", "athens", "madrid", "porto", "istanbul", "praha", "paris", "london", "newyork", "tokyo"];

/** Password of every seeded user (they share one argon2id hash so seeding stays fast). */
export const SEEDED_PASSWORD = "Seeded-Password-1";

/** splitmix32: a small, fast, seedable generator; the same seed gives the same data set. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

const GREEK_TO_LATIN: Record<string, string> = {
  α: "a", β: "v", γ: "g", δ: "d", ε: "e", ζ: "z", η: "i", θ: "th", ι: "i", κ: "k", λ: "l", μ: "m", ν: "n", ξ: "x", ο: "o", π: "p",
  ρ: "r", σ: "s", ς: "s", τ: "t", υ: "y", φ: "f", χ: "ch", ψ: "ps", ω: "o",
};
const CYRILLIC_TO_LATIN: Record<string, string> = {
  а: "a", б: "b", в: "v", г: "g", д: "d", е: "e", ж: "zh", з: "z", и: "i", й: "y", к: "k", л: "l", м: "m", н: "n", о: "o", п: "p",
  р: "r", с: "s", т: "t", у: "u", ф: "f", х: "kh", ц: "ts", ч: "ch", ш: "sh", щ: "shch", ы: "y", ь: "", э: "e", ю: "yu", я: "ya",
};
const OTHER_TO_LATIN: Record<string, string> = { ł: "l", ø: "o", æ: "ae", ß: "ss", þ: "th", ð: "d", ı: "i" };

/** ASCII local part of an email address for a name (mail systems rarely take the name's own letters). */
function asciiOf(text: string): string {
  const lower = text.toLowerCase().normalize("NFD").replace(/\p{M}/gu, "");
  return [...lower].map((c) => GREEK_TO_LATIN[c] ?? CYRILLIC_TO_LATIN[c] ?? OTHER_TO_LATIN[c] ?? c).join("").replace(/[^a-z0-9]/g, "");
}

/** A uuid derived from the seed and a counter, so reruns produce the same ids. */
function seededUuid(seed: number, kind: string, n: number): string {
  const h = createHash("sha1").update(`${seed}:${kind}:${n}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface SeedOptions {
  users: number;
  seed: number;
  /** Precomputed argon2id hash of SEEDED_PASSWORD, shared by every seeded user. */
  passwordHash: string;
  onProgress?: (done: number, total: number) => void;
}

export interface SeedResult {
  users: number;
  groups: number;
  memberships: number;
}

/** Largest multi-row insert that stays under both stores' bound-parameter limits (20 columns per user row). */
const USER_BATCH = 1000;
const MEMBER_BATCH = 10_000;
/** Users written per transaction: big enough to be fast, small enough to show progress. */
const USERS_PER_TRANSACTION = 20_000;

/** The seed's refusal of a store that is not empty: a plain message for its user, not a failure. */
export class SeedRefused extends Error {}

/** Only what a first start makes: the seed's names and counts would clash with anything more. */
async function holdsBuiltInsOnly(db: Store["db"]): Promise<boolean> {
  const any = async (query: { execute(): Promise<unknown[]> }) => (await query.execute()).length > 0;
  return !(
    (await any(db.selectFrom("users").select("id").where("builtin", "=", 0).limit(1))) ||
    (await any(db.selectFrom("groups").select("id").where("builtin", "=", 0).limit(1))) ||
    (await any(db.selectFrom("directories").select("id").limit(1))) ||
    (await any(db.selectFrom("identity_providers").select("id").limit(1)))
  );
}

/** Fills a bootstrapped store with `users` generated users, their groups, memberships and links. */
export async function seedStore({ db, dialect }: Store, options: SeedOptions): Promise<SeedResult> {
  const { users: total, seed, passwordHash } = options;
  const random = randomSource(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  if (!(await holdsBuiltInsOnly(db))) throw new SeedRefused("The store already holds users, groups, directories or identity providers of its own: the seed fills an empty store (set ECM_DATA_DIR or --data-dir to a new folder, or --database-url to an empty database).");
  const now = new Date().toISOString();
  const usersGroup = await db.selectFrom("groups").select("id").where("name_key", "=", USERS_GROUP).executeTakeFirstOrThrow();

  // Groups: departments × sites × teams, up to ~5 000 (fewer for small data sets).
  const groupCount = Math.max(10, Math.min(5000, Math.round(total / 200)));
  const groupIds: number[] = [];
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < groupCount; start += USER_BATCH) {
      const rows = [];
      for (let g = start; g < Math.min(groupCount, start + USER_BATCH); g++) {
        const name = `${DEPARTMENTS[g % DEPARTMENTS.length]}-${SITES[Math.floor(g / DEPARTMENTS.length) % SITES.length]}-${Math.floor(g / (DEPARTMENTS.length * SITES.length)) + 1}`;
        rows.push({ uuid: seededUuid(seed, "group", g), ...groupNameColumns(name), description: `Seeded group ${g + 1}`, created_at: now, updated_at: now });
      }
      const inserted = await trx.insertInto("groups").values(rows).returning("id").execute();
      groupIds.push(...inserted.map((r) => r.id));
    }
  });

  const [directory, providers] = await db.transaction().execute(async (trx) => {
    // Stored as the server stores them, disabled: their hosts are examples that answer nobody.
    const seal = () => {
      throw new Error("the seeded directory has no bind password");
    };
    const directorySettings = mergeDirectory(undefined, { name: "seeded-ldap", vendor: "OTHER", connectionUrl: "ldap://ldap.example.com", baseDn: "ou=people,dc=example,dc=com", enabled: false }, seal);
    const dir = await trx
      .insertInto("directories")
      .values({ uuid: seededUuid(seed, "directory", 0), ...toRowValues(directorySettings), created_at: now, updated_at: now, by_system_administrator: 1 })
      .returning("id")
      .executeTakeFirstOrThrow();
    // Its sync state, as the server makes one with each directory: a sync or removal takes its lease there.
    await trx.insertInto("directory_sync_state").values({ directory_id: dir.id }).execute();
    const provider = (n: number, alias: string, displayName: string, issuer: string) => {
      const settings = {
        alias,
        displayName,
        enabled: false,
        fromUrl: null,
        guiOrder: n,
        defaultGroupList: [],
        customGroupList: [],
        clientId: "ecm-security",
        sealedSecret: null,
        config: { ...DEFAULT_SETTINGS, clientAuthMethod: "none" as const, issuer, authorizationUrl: `${issuer}/authorize`, tokenUrl: `${issuer}/token`, userInfoUrl: null, jwksUrl: `${issuer}/keys` },
      };
      return { uuid: seededUuid(seed, "idp", n), alias, display_name: displayName, enabled: 0, config: storedConfig(settings), created_at: now, updated_at: now, by_system_administrator: 1 };
    };
    const idps = await trx
      .insertInto("identity_providers")
      .values([provider(0, "seeded-entra", "Seeded Entra ID", "https://login.example.com/tenant/v2.0"), provider(1, "seeded-google", "Seeded Google", "https://accounts.example.com")])
      .returning("id")
      .execute();
    return [dir.id, idps.map((r) => r.id)] as const;
  });

  // The first ~20 users are profiles (template users); 2 % of the others are assigned one of them.
  const profileCount = Math.min(20, Math.max(1, Math.floor(total / 1000)));
  const profileIds: number[] = [];
  let memberships = 0;
  await dialect.bulkLoad(db, async () => {
    for (let start = 0; start < total; start += USERS_PER_TRANSACTION) {
      const end = Math.min(total, start + USERS_PER_TRANSACTION);
      await db.transaction().execute(async (trx) => {
        const links: Insertable<FederatedIdentitiesTable>[] = [];
        const members: { group_id: number; user_id: number }[] = [];
        for (let batchStart = start; batchStart < end; batchStart += USER_BATCH) {
          const rows: NewUserRow[] = [];
          const federated: number[] = [];
          for (let i = batchStart; i < Math.min(end, batchStart + USER_BATCH); i++) {
            const first = pick(FIRST_NAMES);
            const last = pick(LAST_NAMES);
            const username = fold(`${[...first][0]}${last}`.replace(/[^\p{L}\p{N}]/gu, "")) + String(i + 1);
            const email = `${asciiOf(first)}.${asciiOf(last)}${i + 1}@${pick(EMAIL_DOMAINS)}`;
            const isProfile = i < profileCount;
            const fields = { username, first_name: first, last_name: last, email };
            const r = random();
            let validFrom: string | null = null;
            let validTo: string | null = null;
            if (r < 0.03) validTo = new Date(Date.UTC(2020 + Math.floor(random() * 10), Math.floor(random() * 12), 1)).toISOString();
            else if (r < 0.05) validFrom = new Date(Date.UTC(2024 + Math.floor(random() * 4), Math.floor(random() * 12), 1)).toISOString();
            const hasDn = random() < 0.05;
            rows.push({
              ...fields,
              ...userNameColumns(username),
              uuid: seededUuid(seed, "user", i),
              password_by_system_administrator: 1,
              display_name: defaultDisplayName(first, last, username),
              description: random() < 0.1 ? `Seeded user ${i + 1}` : null,
              enabled: random() < 0.1 ? 0 : 1,
              dn: hasDn ? `uid=${username},ou=people,dc=example,dc=com` : null,
              directory_id: hasDn ? directory : null,
              profile_id: isProfile ? 0 : profileIds.length > 0 && random() < 0.02 ? pick(profileIds) : -1,
              valid_from: validFrom,
              valid_to: validTo,
              password_hash: passwordHash,
              password_changed_at: now,
              created_at: now,
              updated_at: now,
              email_key: emailKeyOf(email),
              search_text: searchTextFor(fields),
            });
            if (random() < 0.03) federated.push(i - batchStart);
          }
          const inserted = await trx.insertInto("users").values(rows).returning(["id", "username"]).execute();
          const idOf = new Map(inserted.map((r) => [r.username, r.id]));
          for (let k = 0; k < rows.length; k++) {
            const id = idOf.get(rows[k]!.username)!;
            if (rows[k]!.profile_id === 0) profileIds.push(id);
            members.push({ group_id: usersGroup.id, user_id: id });
            const own = new Set<number>();
            while (own.size < 3) own.add(pick(groupIds));
            for (const g of own) members.push({ group_id: g, user_id: id });
          }
          for (const k of federated) {
            const provider = pick(providers);
            links.push({ user_id: idOf.get(rows[k]!.username)!, provider_id: provider, subject: seededUuid(seed, `subject-${provider}`, batchStart + k), created_at: now, by_system_administrator: 1 });
          }
        }
        for (let m = 0; m < members.length; m += MEMBER_BATCH) await trx.insertInto("group_members").values(members.slice(m, m + MEMBER_BATCH)).execute();
        for (let m = 0; m < links.length; m += USER_BATCH) await trx.insertInto("federated_identities").values(links.slice(m, m + USER_BATCH)).execute();
        memberships += members.length;
      });
      options.onProgress?.(end, total);
    }
  });

  await recordAudit(db, { id: null, name: "seed", sourceIp: null }, { action: "system.seed", details: { users: total, groups: groupCount, memberships, seed } });
  return { users: total, groups: groupCount, memberships };
}
