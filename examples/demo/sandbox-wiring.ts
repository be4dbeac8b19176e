import { parseDocument } from 'yaml';
import type { SandboxConfig } from '../sandbox/index.ts';
import type { SubjectFixture } from '../sandbox/population.ts';
import { stableUuid } from '../sandbox/random.ts';

/**
 * The example repository names real vendor endpoints and production settings. For the
 * demo each connection is pointed at the sandbox, with settings that fit a two-minute run
 * (short poll intervals, a schedule window that is always open). Everything else — the
 * approval policy, the requests, the DataGrail object — stays as the privacy team wrote it.
 */
export function pointAtSandbox(sb: SandboxConfig) {
  const v = sb.vendors;
  return (name: string, text: string): string => {
    if (name === 'user-service') return text.replaceAll('https://api.acme.com', v.acme.baseUrl);
    const doc = parseDocument(text);
    const type = String(doc.getIn(['spec', 'type']));
    if (type === 'maestroqa') {
      doc.setIn(['spec', 'baseUrl'], v.maestroqa.baseUrl);
      doc.setIn(['spec', 'pollIntervalSeconds'], 10);
      doc.setIn(['spec', 'maxPollIntervalSeconds'], 20);
    } else if (type === 'qualifio') {
      doc.setIn(['spec', 'baseUrl'], v.qualifio.baseUrl);
      doc.setIn(['spec', 'clientId'], Number(v.qualifio.credentials.clientId));
      doc.setIn(['spec', 'dpoUserId'], Number(v.qualifio.credentials.dpoUserId));
    } else if (type === 'elasticpath') {
      doc.setIn(['spec', 'baseUrl'], v.elasticpath.baseUrl);
      doc.setIn(['spec', 'environment'], 'development');
      doc.setIn(['spec', 'pollIntervalSeconds'], 1);
    } else if (type === 'answerhub') {
      doc.setIn(['spec', 'baseUrl'], v.answerhub.baseUrl);
      doc.setIn(
        ['spec', 'scheduleWindow'],
        doc.createNode({
          days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
          startHour: 0,
          endHour: 24,
          leadMinutes: 0,
        }),
      );
      doc.setIn(['spec', 'credentials', 'password'], 'env:ANSWERHUB_PASSWORD');
    }
    return String(doc);
  };
}

/**
 * The simulators the example repository's connections point at ({@link pointAtSandbox}).
 * The sandbox serves more vendors (Mailchimp): the demo reports only on these.
 */
export const DEMO_VENDORS = ['maestroqa', 'qualifio', 'elasticpath', 'answerhub', 'acme'] as const;

/** The environment the example vendors' `env:` references read, filled from the sandbox. */
export function sandboxEnv(sb: SandboxConfig): Record<string, string> {
  const c = sb.vendors;
  return {
    MAESTROQA_API_TOKEN: String(c.maestroqa.credentials.apiToken),
    QUALIFIO_API_TOKEN: String(c.qualifio.credentials.apiToken),
    ELASTICPATH_CLIENT_ID: String(c.elasticpath.credentials.clientId),
    ELASTICPATH_CLIENT_SECRET: String(c.elasticpath.credentials.clientSecret),
    ANSWERHUB_USERNAME: String(c.answerhub.credentials.username),
    ANSWERHUB_PASSWORD: String(c.answerhub.credentials.password),
    ACME_API_CREDENTIALS: String(c.acme.credentials.credentials),
  };
}

/** The example requests' subjects, so the sandbox has data to erase and export for them. */
export const DEMO_SUBJECTS: SubjectFixture[] = [
  ['jane', 'doe', ['maestroqa', 'elasticpath']],
  ['marc', 'dupont', ['qualifio', 'acme']],
  ['sam', 'rivera', ['maestroqa', 'qualifio', 'elasticpath', 'answerhub', 'acme']],
  ['alex', 'kim', ['acme']],
  ['lena', 'schmidt', ['qualifio', 'acme']],
  ['tom', 'baker', ['answerhub', 'acme']],
  ['priya', 'nair', ['elasticpath']],
  ['chris', 'lee', ['acme']],
  ['dana', 'white', ['maestroqa', 'qualifio', 'elasticpath']],
].map(([first, last, vendors], i) => ({
  email: `${first}.${last}@example.com`,
  firstName: String(first),
  lastName: String(last),
  phone: `+1-555-02${String(i).padStart(2, '0')}`,
  vendors: vendors as SubjectFixture['vendors'],
  qualifioProfiles: first === 'marc' ? 2 : 1,
}));

/** The manifest names an Elastic Path customer id: use the one the sandbox gave that customer. */
export function useSandboxIds(_name: string, text: string): string {
  const doc = parseDocument(text);
  const emails = doc.getIn(['spec', 'subject', 'emails']) as { toJSON(): string[] } | undefined;
  const first = emails?.toJSON()[0];
  if (first && doc.hasIn(['spec', 'subject', 'identifiers', 'elasticpath', 'customerId'])) {
    doc.setIn(
      ['spec', 'subject', 'identifiers', 'elasticpath', 'customerId'],
      stableUuid('elasticpath-customer', first.toLowerCase()),
    );
  }
  return String(doc);
}
