import type { Action, VendorSpec, VendorType } from '../../specs/index.ts';

/**
 * What each driver type can do, as the seeds document it. Interim: once the drivers land
 * this is derived from the driver table (`supportedActions`, `identifierKeys`), and this
 * table goes away.
 */
const CAPABILITIES: { [K in VendorType]: { actions: (spec: Extract<VendorSpec, { type: K }>) => Action[]; identifierKeys: string[] } } = {
  // MaestroQA documents a deletion endpoint only.
  maestroqa: { actions: () => ['erasure'], identifierKeys: [] },
  qualifio: { actions: () => ['access', 'erasure'], identifierKeys: ['profileId'] },
  elasticpath: { actions: () => ['erasure'], identifierKeys: ['customerId', 'accountMemberId'] },
  answerhub: { actions: () => ['erasure'], identifierKeys: ['userId', 'username'] },
  apiproxy: {
    actions: (spec) => {
      const q = spec.connection.queries;
      const out: Action[] = [];
      if (q.access?.length) out.push('access');
      if (q.delete?.length) out.push('erasure');
      if (q.optout?.length) out.push('optout');
      return out;
    },
    identifierKeys: [],
  },
};

export function supportedActions(spec: VendorSpec): Action[] {
  return (CAPABILITIES[spec.type].actions as (s: VendorSpec) => Action[])(spec);
}

export function identifierKeys(type: VendorType): string[] {
  return CAPABILITIES[type].identifierKeys;
}
