import { isMap, isSeq, parseDocument } from 'yaml';
import type { SubjectsPolicy } from '../../specs/index.ts';
import { encryptSubject, type SubjectFields } from './sealed.ts';

/**
 * A request manifest's text with its subject sealed to the current epoch, everything else
 * (comments included) kept. For turning a plain request into a sealed one before it is
 * committed: once a plain value is in git history, sealing it later does not remove it.
 */
export async function sealRequestText(text: string, policy: SubjectsPolicy | undefined): Promise<string> {
  const doc = parseDocument(text);
  const subject = doc.getIn(['spec', 'subject']);
  if (!isMap(subject)) return text;
  const plain = subject.toJSON() as SubjectFields;
  const sealed = await encryptSubject({ emails: plain.emails ?? [], identifiers: plain.identifiers }, policy);
  const emails = doc.createNode(sealed.emails);
  emails.flow = false;
  doc.setIn(['spec', 'subject', 'emails'], emails);
  for (const [vendor, keys] of Object.entries(sealed.identifiers ?? {})) {
    for (const [k, v] of Object.entries(keys)) doc.setIn(['spec', 'subject', 'identifiers', vendor, k], v);
  }
  if (!isSeq(doc.getIn(['spec', 'subject', 'emails']))) throw new Error('sealRequestText: emails did not stay a list');
  return doc.toString({ lineWidth: 0 });
}
