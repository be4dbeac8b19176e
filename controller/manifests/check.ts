import {
  sealedEpoch,
  type Action,
  type LetheConfig,
  type PrivacyRequest,
  type VendorConnection,
} from '../../specs/index.ts';
import type { DriverTable } from '../contracts/driver.ts';
import { subjectValues } from '../subjects/sealed.ts';
import { KIND_PLACES, nameFromPath } from './kinds.ts';
import { manifestLocator, type ParsedManifest } from './parse.ts';
import { compareProblems, problem, type Problem } from './problem.ts';
import { closest } from './suggest.ts';
import { displayPath, type PathSegment } from './yaml-source.ts';

export interface VendorEntry {
  path: string;
  connection: VendorConnection;
}

/**
 * What a finished request still needs once its manifest is dropped (core/pass/finished.ts):
 * its status and plan entry are made from this. Its subject and text are read from git
 * again, by blob, before anything could act on it.
 */
export interface FinishedRequest {
  name: string;
  /** The manifest's blob, to read it again. */
  blob: string;
  action: Action;
  regulation: PrivacyRequest['spec']['regulation'];
  receivedAt: string;
  dueAt: string;
  fingerprint: string;
  vendorsFromAll: boolean;
  subjectRef?: string;
  subjectEpoch?: string;
}

export type RequestEntry = {
  path: string;
  /** The vendors the request addresses, `all` expanded, sorted by name. */
  vendors: string[];
} & ({ request: PrivacyRequest; finished?: undefined } | { request?: undefined; finished: FinishedRequest });

/** A finished request's model entry, kept without its manifest. */
export type FinishedEntry = Extract<RequestEntry, { finished: FinishedRequest }>;

/** `vendors: all` in the request's manifest, whole or finished. */
export function addressesAll(entry: RequestEntry): boolean {
  return entry.finished ? entry.finished.vendorsFromAll : entry.request.spec.vendors === 'all';
}

export interface RepositoryModel {
  config?: LetheConfig;
  /** Valid vendor connections by metadata.name. */
  vendors: Map<string, VendorEntry>;
  /** Requests with no problem of their own nor from cross-checks, by metadata.name. */
  requests: Map<string, RequestEntry>;
  /** Every problem in the repository, sorted by file and position. */
  problems: Problem[];
  /** Request files with problems, by path: the controller records these as Invalid. */
  invalidRequests: Map<string, { name?: string; problems: Problem[] }>;
}

type Of<K extends ParsedManifest['kind']> = Extract<ParsedManifest, { kind: K }>;

/** A YAML file that declares a manifest kind but lies where Lethe does not read that kind. */
export interface MisplacedManifest {
  path: string;
  kind: 'PrivacyRequest' | 'VendorConnection' | 'LetheConfig';
  /** The line of its `kind:`. */
  line: number;
}

/** Where a misplaced manifest belongs: a request named like `2026-11-0001` under requests/2026/11/, as lethe new places it. */
export function placeFor(m: MisplacedManifest): string {
  const file = m.path.slice(m.path.lastIndexOf('/') + 1);
  if (m.kind === 'LetheConfig') return 'lethe.yaml';
  if (m.kind === 'VendorConnection') return `vendors/${file}`;
  const dated = /^(\d{4})-(\d{2})-\d{4}\.ya?ml$/.exec(file);
  return dated ? `requests/${dated[1]}/${dated[2]}/${file}` : `requests/${file}`;
}

/**
 * Cross-checks a set of parsed manifests against what the controller's drivers can do (the
 * same table the pass uses). Pure: the same input always gives the same model.
 *
 * `finished` are entries of finished requests kept without their manifest, checked when
 * they were whole: the caller passes them only when no connection, no lethe.yaml and no
 * file of the same name changed since, so checking them again would find the same.
 */
export function checkRepository(
  parsed: readonly ParsedManifest[],
  drivers: DriverTable,
  misplaced: readonly MisplacedManifest[] = [],
  finished: ReadonlyMap<string, FinishedEntry> = new Map(),
): RepositoryModel {
  const byPath = [...parsed].sort((a, b) => a.path.localeCompare(b.path));
  const configs = byPath.filter((m): m is Of<'LetheConfig'> => m.kind === 'LetheConfig');
  const vendorFiles = byPath.filter((m): m is Of<'VendorConnection'> => m.kind === 'VendorConnection');
  const requestFiles = byPath.filter((m): m is Of<'PrivacyRequest'> => m.kind === 'PrivacyRequest');

  const locate = manifestLocator();
  const extra = new Map<string, Problem[]>(byPath.map((m) => [m.path, []]));
  const add = (m: ParsedManifest, p: Problem) =>
    extra.get(m.path)!.push(m.name === undefined ? p : { ...p, name: m.name });
  flagDuplicates(vendorFiles, add, locate);
  flagDuplicates(requestFiles, add, locate);
  const valid = (m: ParsedManifest) => m.value !== undefined && extra.get(m.path)!.length === 0;

  const vendors = new Map<string, VendorEntry>();
  const invalidVendors = new Map<string, string>();
  for (const m of vendorFiles) {
    if (valid(m)) vendors.set(m.name!, { path: m.path, connection: m.value! });
    else invalidVendors.set(m.name ?? nameFromPath(m.path), m.path);
  }

  const problems: Problem[] = [];
  if (configs.length === 0) problems.push(problem('CONFIG_MISSING', 'lethe.yaml', { line: 1, column: 1 }));
  for (const m of misplaced) {
    problems.push(
      problem(
        'MISPLACED_MANIFEST',
        m.path,
        { line: m.line, column: 1 },
        { kind: m.kind, place: KIND_PLACES[m.kind], path: m.path, target: placeFor(m) },
      ),
    );
  }

  const config = configs.find(valid)?.value;
  for (const m of requestFiles) {
    if (m.value !== undefined) checkVendors(m, m.value, vendors, invalidVendors, drivers, (p) => add(m, p), locate);
    if (m.value !== undefined && config) checkSealing(m, m.value, config, (p) => add(m, p), locate);
  }

  const requests = new Map<string, RequestEntry>();
  const invalidRequests = new Map<string, { name?: string; problems: Problem[] }>();
  for (const m of byPath) {
    const own = [...m.problems, ...extra.get(m.path)!].sort(compareProblems);
    problems.push(...own);
    if (m.kind !== 'PrivacyRequest') continue;
    if (own.length === 0 && m.value !== undefined) {
      requests.set(m.name!, { path: m.path, request: m.value, vendors: resolveVendors(m.value, vendors, drivers) });
    } else {
      invalidRequests.set(m.path, { name: m.name, problems: own });
    }
  }
  for (const [name, entry] of finished) requests.set(name, entry);
  return {
    config,
    vendors,
    // In file order, as without finished entries.
    requests:
      finished.size === 0 ? requests : new Map([...requests].sort(([, a], [, b]) => a.path.localeCompare(b.path))),
    problems: problems.sort(compareProblems),
    invalidRequests,
  };
}

type Locate = ReturnType<typeof manifestLocator>;

function flagDuplicates(
  files: readonly ParsedManifest[],
  add: (m: ParsedManifest, p: Problem) => void,
  locate: Locate,
): void {
  const byName = new Map<string, ParsedManifest[]>();
  for (const m of files) if (m.name !== undefined) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    for (const m of same) {
      const other = same
        .filter((o) => o !== m)
        .map((o) => o.path)
        .join(', ');
      add(m, problem('DUPLICATE_NAME', m.path, locate(m, ['metadata', 'name']), { name, other }));
    }
  }
}

function supports(drivers: DriverTable, entry: VendorEntry, action: Action): boolean {
  const { spec } = entry.connection;
  const driver = drivers[spec.type];
  return (driver.supportedActions?.(spec) ?? driver.actions).includes(action);
}

function resolveVendors(
  request: PrivacyRequest,
  vendors: ReadonlyMap<string, VendorEntry>,
  drivers: DriverTable,
): string[] {
  const { action } = request.spec;
  const names =
    request.spec.vendors === 'all'
      ? [...vendors].filter(([, v]) => supports(drivers, v, action)).map(([n]) => n)
      : request.spec.vendors;
  return [...new Set(names)].sort();
}

function checkVendors(
  m: ParsedManifest,
  request: PrivacyRequest,
  vendors: ReadonlyMap<string, VendorEntry>,
  invalidVendors: ReadonlyMap<string, string>,
  drivers: DriverTable,
  report: (p: Problem) => void,
  locate: Locate,
): void {
  const { action } = request.spec;
  const at = (path: PathSegment[], which: 'value' | 'key' = 'value') => locate(m, path, which);
  if (request.spec.vendors === 'all') {
    // "all" must mean all: a broken vendor file would otherwise be skipped silently.
    for (const [vendor, file] of invalidVendors) {
      report(problem('VENDOR_INVALID', m.path, at(['spec', 'vendors']), { path: 'spec.vendors', vendor, file }));
    }
    if (![...vendors.values()].some((v) => supports(drivers, v, action))) {
      report(problem('NO_VENDOR_FOR_ACTION', m.path, at(['spec', 'vendors']), { action }));
    }
  } else {
    request.spec.vendors.forEach((vendor, i) => {
      const path: PathSegment[] = ['spec', 'vendors', i];
      const values = { path: displayPath(path), vendor, action };
      const entry = vendors.get(vendor);
      const invalidFile = invalidVendors.get(vendor);
      if (entry) {
        if (!supports(drivers, entry, action)) {
          report(
            problem('VENDOR_ACTION_UNSUPPORTED', m.path, at(path), { ...values, type: entry.connection.spec.type }),
          );
        }
      } else if (invalidFile !== undefined) {
        report(problem('VENDOR_INVALID', m.path, at(path), { ...values, file: invalidFile }));
      } else {
        const p = problem('UNKNOWN_VENDOR', m.path, at(path), values);
        const guess = closest(vendor, [...vendors.keys(), ...invalidVendors.keys()]);
        report(guess === undefined ? p : { ...p, hint: `did you mean "${guess}"? ${p.hint}` });
      }
    });
  }

  const addressed = new Set(resolveVendors(request, vendors, drivers));
  for (const [vendor, keys] of Object.entries(request.spec.subject.identifiers ?? {})) {
    const base: PathSegment[] = ['spec', 'subject', 'identifiers', vendor];
    const entry = vendors.get(vendor);
    if (!addressed.has(vendor)) {
      if (entry || !invalidVendors.has(vendor)) {
        report(
          problem('IDENTIFIER_VENDOR_NOT_IN_REQUEST', m.path, at(base, 'key'), { path: displayPath(base), vendor }),
        );
      }
      continue;
    }
    if (!entry) continue;
    const known = drivers[entry.connection.spec.type].identifierKeys;
    for (const key of Object.keys(keys)) {
      if (known.includes(key)) continue;
      const path = [...base, key];
      const p = problem('UNKNOWN_IDENTIFIER_KEY', m.path, at(path, 'key'), {
        path: displayPath(path),
        vendor,
        key,
        type: entry.connection.spec.type,
        allowed: known.length > 0 ? known.join(', ') : 'none (remove the identifiers for this vendor)',
      });
      const guess = closest(key, known);
      report(guess === undefined ? p : { ...p, hint: `did you mean "${guess}"? ${p.hint}` });
    }
  }
}

/** Sealed values name a declared epoch, one per request; plain values only where lethe.yaml allows them. */
function checkSealing(
  m: ParsedManifest,
  request: PrivacyRequest,
  config: LetheConfig,
  report: (p: Problem) => void,
  locate: Locate,
): void {
  const policy = config.spec.subjects;
  const declared = new Set((policy?.epochs ?? []).map((e) => e.id));
  let first: string | undefined;
  for (const { path, value } of subjectValues(request.spec.subject)) {
    const epoch = sealedEpoch(value);
    // Located only when reported: a position costs a parse of the file.
    const at = () => locate(m, path);
    const shown = displayPath(path);
    if (epoch === undefined) {
      if (policy?.requireEncryption) report(problem('SUBJECT_NOT_ENCRYPTED', m.path, at(), { path: shown }));
      continue;
    }
    if (!declared.has(epoch)) report(problem('SUBJECT_EPOCH_UNKNOWN', m.path, at(), { path: shown, epoch }));
    else if (first !== undefined && epoch !== first)
      report(problem('SUBJECT_EPOCH_MIXED', m.path, at(), { path: shown, epoch, first }));
    first ??= epoch;
  }
}
