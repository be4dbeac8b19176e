export { manifestKind, nameFromPath, type ManifestKind } from './kinds.ts';
export { parseManifest, type ParsedManifest } from './parse.ts';
export {
  addressesAll,
  checkRepository,
  type FinishedEntry,
  type FinishedRequest,
  type MisplacedManifest,
  type RepositoryModel,
  type RequestEntry,
  type VendorEntry,
} from './check.ts';
export {
  findMisplacedManifests,
  listManifestPaths,
  loadRepositoryFromDisk,
  misplacedCandidate,
  misplacedManifest,
} from './load.ts';
export { formatJson, formatText, type Position, type Problem } from './problem.ts';
export { MAX_ALIAS_COUNT, MAX_MANIFEST_BYTES } from './yaml-source.ts';
