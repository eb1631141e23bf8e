/**
 * Cohorts: an ordered list of named sets of apps that a migration moves one after another (its
 * own internal apps first, then a low-risk tier, then everyone else). Which cohort an app is in
 * is a pure function of its name and the list, so the read router, the new-store writer's fault
 * switch, the console and the tests all agree without asking anyone:
 *
 *  - an app belongs to the FIRST cohort whose selector matches it;
 *  - a selector is exactly one of: explicit app names (`apps`), a name prefix (`prefix`), or a
 *    stable hash bucket (`bucketPercent`: the apps whose bucket, 0..99, is below it);
 *  - the last cohort has no selector: "everyone else", so every app is in exactly one cohort.
 *
 * The bucket is FNV-1a (32 bit) of the app name's UTF-8 bytes, modulo 100: stable across
 * processes, versions and languages. Cohorts are checked in order, so two bucket cohorts of 10
 * and 25 hold the buckets 0..9 and 10..24 (of the apps no earlier cohort took).
 *
 * Plain code only (this file is part of the workflow bundle).
 */

/** Cohort names: short, lower-case, usable in a key (`<env>#<cohort>` in the science stats). */
export const COHORT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;

/** Most cohorts a policy may list (each is evaluated on every tick). */
export const MAX_COHORTS = 8;

/** Most explicit app names one cohort may list (the list travels in every control state). */
export const MAX_COHORT_APPS = 200;

/** One cohort of a policy: its name and which apps it holds (no selector: everyone else). */
export interface CohortSpec {
  name: string;
  /** Exactly these apps. */
  apps?: string[];
  /** Every app whose name starts with this. */
  prefix?: string;
  /** The apps whose stable hash bucket (0..99, see cohortBucket) is below this (1..99). */
  bucketPercent?: number;
}

/**
 * A cohort as the control state carries it: its selector and what the data plane applies to its
 * apps (the same meaning as the environment's sciencePercent and cutoverPercent).
 */
export interface ControlCohort extends CohortSpec {
  sciencePercent: number;
  cutoverPercent: number;
}

/** FNV-1a 32-bit over the UTF-8 bytes of s. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  const byte = (b: number): void => {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) byte(cp);
    else if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
      byte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    }
  }
  return h >>> 0;
}

/** The app's stable hash bucket, 0..99. */
export function cohortBucket(app: string): number {
  return fnv1a(app) % 100;
}

/** Whether a cohort's selector takes the app (a cohort without a selector takes every app). */
export function cohortTakes(c: CohortSpec, app: string): boolean {
  if (c.apps !== undefined) return c.apps.includes(app);
  if (c.prefix !== undefined) return app.startsWith(c.prefix);
  if (c.bucketPercent !== undefined) return cohortBucket(app) < c.bucketPercent;
  return true;
}

/** The cohort an app is in: the first whose selector takes it (undefined only for an empty list). */
export function cohortOf<C extends CohortSpec>(app: string, cohorts: readonly C[]): C | undefined {
  return cohorts.find((c) => cohortTakes(c, app));
}

/** The selector of a cohort in words: "apps app-0001, app-0002", "apps starting with int-", "25 % hash bucket", "everyone else". */
export function cohortSelectorText(c: CohortSpec): string {
  if (c.apps !== undefined) return `apps ${c.apps.join(', ')}`;
  if (c.prefix !== undefined) return `apps starting with ${c.prefix}`;
  if (c.bucketPercent !== undefined) return `${c.bucketPercent} % hash bucket of the apps left`;
  return 'everyone else';
}

/** Every problem with a policy's cohort list; empty when it is usable (absent and empty lists are fine: no cohorts). */
export function cohortProblems(cohorts: unknown): string[] {
  if (cohorts === undefined || cohorts === null) return [];
  if (!Array.isArray(cohorts)) return ['cohorts must be an array of { name, apps | prefix | bucketPercent }, the last one without a selector'];
  const list = cohorts as unknown[];
  if (list.length === 0) return [];
  const problems: string[] = [];
  if (list.length < 2) problems.push('cohorts must list at least two cohorts (the last one is everyone else)');
  if (list.length > MAX_COHORTS) problems.push(`cohorts may list at most ${MAX_COHORTS} cohorts (got ${list.length})`);
  const names = new Set<string>();
  list.forEach((raw, i) => {
    const at = `cohorts[${i}]`;
    if (raw === null || typeof raw !== 'object') {
      problems.push(`${at} must be an object`);
      return;
    }
    const c = raw as Record<string, unknown>;
    const name = c.name;
    if (typeof name !== 'string' || !COHORT_NAME_PATTERN.test(name))
      problems.push(`${at}.name must match ${String(COHORT_NAME_PATTERN)} (got ${JSON.stringify(name)})`);
    else if (names.has(name)) problems.push(`cohort name ${name} is used twice`);
    else names.add(name);
    const selectors = (['apps', 'prefix', 'bucketPercent'] as const).filter((k) => c[k] !== undefined);
    const last = i === list.length - 1;
    if (last && selectors.length > 0) problems.push(`${at} (the last cohort) is everyone else: it takes no ${selectors.join(' or ')}`);
    if (!last && selectors.length !== 1)
      problems.push(`${at} needs exactly one of apps, prefix or bucketPercent (got ${selectors.length === 0 ? 'none' : selectors.join(', ')})`);
    if (c.apps !== undefined) {
      const apps = c.apps;
      if (!Array.isArray(apps) || apps.length === 0 || apps.some((a) => typeof a !== 'string' || a.length === 0))
        problems.push(`${at}.apps must be a non-empty array of app names`);
      else if (apps.length > MAX_COHORT_APPS) problems.push(`${at}.apps may list at most ${MAX_COHORT_APPS} apps (got ${apps.length})`);
    }
    if (c.prefix !== undefined && (typeof c.prefix !== 'string' || c.prefix.length === 0)) problems.push(`${at}.prefix must be a non-empty string`);
    const b = c.bucketPercent;
    if (b !== undefined && (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > 99))
      problems.push(`${at}.bucketPercent must be an integer from 1 to 99 (got ${String(b)})`);
  });
  return problems;
}
