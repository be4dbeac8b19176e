import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lookup } from '../../errors/catalogue.ts';
import { LetheError } from '../../errors/types.ts';
import { formatText } from '../../manifests/index.ts';
import { subjectErrors } from '../../subjects/errors.ts';
import { identitiesIn } from '../../subjects/keys.ts';
import { showRequest } from '../../subjects/show.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'show <request> [--repo DIR] [--identity FILE] [--stdout]';
export const summary =
  "Decrypt a request's subject with your own age key (--identity or LETHE_AGE_IDENTITY) and print it to the terminal, to check it before approving.";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    repo: { type: 'string', default: '.' },
    identity: { type: 'string' },
    stdout: { type: 'boolean', default: false },
  });
  const fail = (err: LetheError): number => {
    process.stderr.write(`lethe show: ${err.code} ${err.message}\n  hint: ${lookup(err.code)?.hint ?? ''}\n`);
    return EXIT.invalid;
  };
  if (positionals.length !== 1) {
    process.stderr.write(`lethe show: give exactly one request name or file\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  // Personal data on screen, not in a pipe that ends in a CI log or a file, unless asked.
  if (!process.stdout.isTTY && !values.stdout) return fail(subjectErrors.error('SHOW_NOT_A_TERMINAL'));
  const identityFile = values.identity ?? process.env.LETHE_AGE_IDENTITY;
  if (!identityFile) return fail(subjectErrors.error('IDENTITY_NOT_GIVEN'));
  let identities: string[];
  try {
    identities = identitiesIn(await readFile(resolve(identityFile), 'utf8'));
  } catch {
    identities = [];
  }
  if (identities.length === 0) return fail(subjectErrors.error('IDENTITY_NOT_GIVEN'));
  try {
    const shown = await showRequest(resolve(values.repo), positionals[0]!, identities);
    if (shown.kind === 'not-found') {
      process.stderr.write(`lethe show: no request ${positionals[0]} under requests/ in ${resolve(values.repo)}\n`);
      return EXIT.invalid;
    }
    if (shown.kind === 'invalid') {
      process.stderr.write(`lethe show: ${shown.path} is not a valid request:\n${formatText(shown.problems)}`);
      return EXIT.invalid;
    }
    process.stdout.write(shown.text);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof LetheError) return fail(err);
    throw err;
  }
}
