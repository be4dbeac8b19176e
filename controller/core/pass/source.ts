import { PrivacyRequestStatus, ResourceName } from '../../../specs/index.ts';
import { parseStatusYaml } from '../../audit/status-yaml.ts';
import { coreErrors } from '../errors.ts';
import { statusEntry } from '../status.ts';
import type { ApprovedState } from '../../git/approved-tree.ts';
import { checkRepository, manifestKind, parseManifest, type ParsedManifest } from '../../manifests/index.ts';
import { MisplacedScan } from '../misplaced-scan.ts';
import { finishedToCarry } from './finished.ts';
import { kindOf, nameOf, type PassMemory } from './memory.ts';
import type { Sourced, StepDeps } from './types.ts';

/**
 * Step 1, source: the branch head, the approved tree at it (approved-tree.ts: what the
 * branch holds beyond it is pending and only reported), the desired manifests parsed and
 * validated, and status/ as last committed. Unapproved new requests are modelled too, so
 * their status says why they wait. `forPass` fetches; `lethe plan` uses the remote head.
 */
export async function sourceStep(d: StepDeps, m: PassMemory, forPass: boolean): Promise<Sourced> {
  const { source } = d;
  const head = forPass ? await source.sync() : ((await source.remoteHead()) ?? (await source.sync()));
  const state = await d.tree.at(head);
  const changedPaths = await loadManifests(d, m, state);
  m.misplacedScan ??= new MisplacedScan(source);
  const misplaced = await m.misplacedScan.at(head);
  const misplacedChanged = JSON.stringify(misplaced) !== JSON.stringify(m.misplaced);
  m.misplaced = misplaced;
  // Nothing in the desired state changed (the controller's own status commits, a quiet
  // poll): the model of the last pass still holds.
  const previous =
    Array.isArray(changedPaths) && changedPaths.length === 0 && !misplacedChanged ? m.lastSnapshot : undefined;
  let model = previous?.model;
  if (!model) {
    // First: finished requests the change could affect are parsed again, so they are checked whole.
    const { again, carried } = finishedToCarry(m, changedPaths);
    await parseBlobs(d, m, again);
    model = checkRepository(desiredManifests(m, state), d.drivers, misplaced, carried);
  }
  if (misplacedChanged) {
    // Once per change of the set, not every pass: the dashboard keeps saying it meanwhile.
    for (const p of model.problems.filter((q) => q.code === 'MISPLACED_MANIFEST')) {
      d.log.warn('a manifest outside the places Lethe reads is ignored', {
        code: p.code,
        file: p.file,
        line: p.line,
        hint: p.hint,
      });
    }
  }
  if (!model.config) {
    const first = model.problems.find((p) => p.file === 'lethe.yaml');
    throw coreErrors.error('CONFIG_INVALID', {
      problem: first ? `${first.code} at ${first.line}:${first.column}` : 'no lethe.yaml on the branch',
    });
  }
  // status/ is read once; afterwards the record step keeps the memory of it current.
  if (!m.statusesLoaded)
    await loadStatuses(d, m, (await source.statusHead()) ?? head, model.config.spec.identity.email);
  return { head, state, changedPaths, model, config: model.config, reused: previous !== undefined };
}

/**
 * The parsed manifests of the desired state: every approved file, plus unapproved new
 * request files (modelled so that their status says AwaitingApproval) unless they reuse the
 * name of an approved request, whose approved version stays in force. Finished requests
 * kept without their manifest are carried into the model apart (finished.ts).
 */
function desiredManifests(m: PassMemory, state: ApprovedState): ParsedManifest[] {
  const approvedNames = new Set<string>();
  for (const [path, file] of m.parsed) {
    const name = nameOf(file);
    if (state.approved.has(path) && name) approvedNames.add(`${kindOf(file)}/${name}`);
  }
  const out: ParsedManifest[] = [];
  for (const [path, { manifest }] of m.parsed) {
    if (!manifest) continue;
    if (state.approved.has(path) || !manifest.name || !approvedNames.has(`${manifest.kind}/${manifest.name}`))
      out.push(manifest);
  }
  return out;
}

/** Parses only the desired files whose content changed since the last pass; returns the paths that changed. */
async function loadManifests(d: StepDeps, m: PassMemory, state: ApprovedState): Promise<string[] | 'all'> {
  const desired = new Map<string, string>();
  for (const [path, entry] of state.approved) desired.set(path, entry.blob);
  for (const [path, blob] of state.current)
    if (!state.approved.has(path) && manifestKind(path) === 'PrivacyRequest') desired.set(path, blob);
  const stale = [...desired].filter(([path, blob]) => m.parsed.get(path)?.blob !== blob);
  await parseBlobs(d, m, stale);
  for (const path of m.parsed.keys()) if (!desired.has(path)) m.parsed.delete(path);
  const before = m.desired;
  m.desired = desired;
  if (before === undefined) return 'all';
  const changed = stale.map(([path]) => path);
  for (const path of before.keys()) if (!desired.has(path)) changed.push(path);
  return changed;
}

/**
 * Reads and parses desired files ([path, blob]) into memory, each as its blob arrives from
 * one `cat-file --batch` (GitSource.eachFile): a cold first pass holds a chunk of git's
 * output at a time, not every text, and git reads while this process parses.
 */
export async function parseBlobs(
  d: StepDeps,
  m: PassMemory,
  files: readonly [path: string, blob: string][],
): Promise<void> {
  const arrived = new Set<string>();
  await d.source.eachFile(files, (path, blob, text) => {
    arrived.add(path);
    m.parsed.set(path, { blob, manifest: parseManifest(path, text) });
  });
  // A blob the repository lacks reads as an empty file: reported as a problem of its own.
  for (const [path, blob] of files)
    if (!arrived.has(path)) m.parsed.set(path, { blob, manifest: parseManifest(path, '') });
}

/**
 * status/ as last committed, for continuity of conditions and for a journal rebuild. Only
 * files whose current content was last written by a controller commit (committer =
 * spec.identity) and named as a status file must be are read; every other file is
 * ignored, reported in the dashboard, and overwritten only if a request of that name is
 * in the approved state.
 */
async function loadStatuses(d: StepDeps, m: PassMemory, head: string, identityEmail: string): Promise<void> {
  const { source } = d;
  const paths = await source.listFiles(head, (p) => p.startsWith('status/'));
  const writers = await source.lastWriters(head, 'status/');
  const byController = (path: string) => writers.get(path)?.trim().toLowerCase() === identityEmail.trim().toLowerCase();
  const ids = await source.blobIds(head, paths.filter(byController));
  const read = new Set<string>();
  // Each kept (deflated, status.ts) as it arrives: 10,000 status texts are 17 MB.
  await source.eachFile([...ids], (path, _id, text) => {
    if (path === 'status/README.md') {
      m.dashboard = text;
      read.add(path);
      return;
    }
    const name = /^status\/([^/]+)\.yaml$/.exec(path)?.[1];
    const doc =
      name !== undefined && ResourceName.safeParse(name).success
        ? PrivacyRequestStatus.safeParse(parseStatusYaml(text))
        : undefined;
    if (doc?.success && doc.data.metadata.name === name) {
      m.statuses.set(name, statusEntry(text, doc.data));
      read.add(path);
    }
  });
  m.ignoredStatus = paths.filter((p) => !read.has(p));
  if (m.ignoredStatus.length > 0) {
    d.log.warn('ignoring files under status/ that the controller did not write', {
      count: m.ignoredStatus.length,
      paths: m.ignoredStatus.slice(0, 20),
    });
  }
  m.statusesLoaded = true;
}
