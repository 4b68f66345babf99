// Apart from server.ts, which loads the whole server: the fuzzer checks its options with them first.
export type StoreKind = "sqlite" | "postgres";

/** Stores every test suite runs against. PostgreSQL needs ECM_TEST_DATABASE_URL (CI sets it); without it, its suites are reported as skipped. */
export const storeKinds: StoreKind[] = ["sqlite", "postgres"];

/** Why suites on this store cannot run here, or false: the `skip` option of their `describe`. */
export function storeSkip(kind: StoreKind): string | false {
  return kind === "postgres" && !process.env.ECM_TEST_DATABASE_URL ? "ECM_TEST_DATABASE_URL is not set" : false;
}
