import type { VendorName } from './types.ts';

/** One fake data subject and where it exists. All emails are @example.com. */
export interface SubjectFixture {
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  vendors: readonly VendorName[];
  /** Qualifio can hold several participant profiles for one email (default 1). */
  qualifioProfiles?: number;
}

const ALL: readonly VendorName[] = ['maestroqa', 'qualifio', 'elasticpath', 'answerhub', 'acme', 'mailchimp'];

function fixture(
  first: string,
  last: string,
  n: number,
  vendors: readonly VendorName[],
  qualifioProfiles = 1,
): SubjectFixture {
  return {
    email: `${first}.${last}@example.com`,
    firstName: first[0]!.toUpperCase() + first.slice(1),
    lastName: last[0]!.toUpperCase() + last.slice(1),
    phone: `+1-555-01${String(n).padStart(2, '0')}`,
    vendors,
    qualifioProfiles,
  };
}

/** The seeded population. Tests pick subjects present or absent per vendor from here. */
export const FIXTURE_SUBJECTS: readonly SubjectFixture[] = [
  fixture('alice', 'martin', 1, ALL),
  fixture('bob', 'nguyen', 2, ALL, 2),
  fixture('carol', 'smith', 3, ['maestroqa', 'elasticpath', 'mailchimp']),
  fixture('dan', 'okafor', 4, ['qualifio', 'answerhub'], 3),
  fixture('erin', 'kowalski', 5, ['acme']),
  fixture('frank', 'muller', 6, ['elasticpath', 'answerhub', 'acme']),
  fixture('grace', 'lee', 7, ['maestroqa', 'qualifio', 'acme']),
  fixture('henry', 'dubois', 8, []),
  fixture('ines', 'garcia', 9, ALL),
  fixture('jack', 'wilson', 10, ['maestroqa', 'answerhub']),
  fixture('kim', 'tanaka', 11, ['elasticpath', 'qualifio'], 2),
  fixture('leo', 'rossi', 12, ['acme', 'answerhub', 'elasticpath']),
];

/** Synthetic subjects present at every vendor, for benchmarks: bulk0001@example.com, ... */
export function generatedSubjects(count: number): SubjectFixture[] {
  const out: SubjectFixture[] = [];
  for (let i = 1; i <= Math.min(count, 100_000); i++) {
    const id = String(i).padStart(4, '0');
    out.push({
      email: `bulk${id}@example.com`,
      firstName: 'Bulk',
      lastName: `Subject${id}`,
      phone: `+1-555-9${id}`,
      vendors: ALL,
    });
  }
  return out;
}

export function presentAt(
  vendor: VendorName,
  subjects: readonly SubjectFixture[] = FIXTURE_SUBJECTS,
): SubjectFixture[] {
  return subjects.filter((s) => s.vendors.includes(vendor));
}

export function absentAt(vendor: VendorName, subjects: readonly SubjectFixture[] = FIXTURE_SUBJECTS): SubjectFixture[] {
  return subjects.filter((s) => !s.vendors.includes(vendor));
}
