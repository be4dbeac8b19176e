import type { ApprovalFinding, AuditReport, RequestAudit, ShredFinding, StatusChange } from './audit.ts';

/**
 * The audit in four shapes. Every one is a pure function of the report, and the report of
 * the repository: the same clone and ref give the same bytes (no "generated at" time).
 */

const short = (sha: string | undefined): string => (sha ?? '').slice(0, 12);

function approvalLine(a: ApprovalFinding | undefined): string {
  if (!a) return 'no approval found on the protected branch';
  const then = a.approved ? `approved (${a.mode}): ${a.reason}` : `NOT approved (${a.mode}): ${a.reason}`;
  const policy = a.policyFrom ? `; policy: lethe.yaml as of ${short(a.policyFrom)}` : '';
  const signed =
    a.signed === undefined
      ? ''
      : a.signed
        ? '; approval commit signed by the approver'
        : '; approval commit not signed';
  const today = a.approved
    ? a.validToday
      ? "; also valid under today's policy"
      : `; not valid under today's policy (${a.todayReason})`
    : '';
  return `${then}${a.approvedAt ? ` at ${a.approvedAt}` : ''}${policy}${signed}${today}; evaluated at ${short(a.at)}`;
}

function statusLine(s: StatusChange): string {
  const phase = s.from && s.from !== s.phase ? `${s.from} -> ${s.phase}` : (s.phase ?? '(no valid status)');
  const vendors = s.vendors.map(
    (v) =>
      `${v.vendor} ${v.phase}${v.outcome ? ` ${v.outcome}` : ''}${v.jobIds ? ` jobs ${v.jobIds.join(',')}` : ''}${
        v.evidence
          ? ` evidence ${Object.entries(v.evidence)
              .map(([k, x]) => `${k}=${x}`)
              .join(' ')}`
          : ''
      }`,
  );
  return `${s.time} ${short(s.commit)} [${s.signature}] ${phase}${vendors.length > 0 ? ` · ${vendors.join(' · ')}` : ''}`;
}

function shredLine(s: ShredFinding): string {
  return `epoch ${s.epoch} key destroyed at ${s.shreddedAt} (record ${short(s.commit)} [${s.signature}])`;
}

function header(r: AuditReport): string[] {
  const keys = r.signing.keys.map((k) => `${k.fingerprint} (from ${short(k.since)})`).join(', ') || 'none';
  return [
    `Lethe audit of ${r.ref} (${short(r.statusHead)}), manifests at ${short(r.manifestHead)}, status as of ${r.asOf}`,
    `Status commits: ${r.signing.statusCommits}, unsigned: ${r.signing.unsignedStatusCommits}; controller keys seen: ${keys}`,
    `Verdicts: ${r.proven} Proven, ${r.unproven} Unproven`,
  ];
}

export function renderText(r: AuditReport): string {
  const out = [...header(r)];
  for (const c of r.chain) out.push(`CHAIN: ${c.reason}`);
  for (const n of r.config) out.push(`config: ${n}`);
  for (const q of r.requests) {
    out.push(
      '',
      `${q.name}  ${q.verdict}  ${q.action ?? '?'} ${q.regulation ?? '?'}  received ${q.receivedAt ?? '?'}  due ${q.dueAt ?? '?'}`,
    );
    out.push(`  outcome: ${q.outcome}`);
    for (const m of q.manifest)
      out.push(`  manifest: ${m.date} ${short(m.commit)} ${m.merge ? 'merge' : m.change} ${m.path} by ${m.author}`);
    out.push(`  approval: ${approvalLine(q.approval)}`);
    for (const s of q.status) out.push(`  status: ${statusLine(s)}`);
    for (const s of q.shredded) out.push(`  subject: ${shredLine(s)}`);
    for (const n of q.notes) out.push(`  note: ${n}`);
    for (const reason of q.reasons) out.push(`  UNPROVEN: ${reason}`);
  }
  return out.join('\n') + '\n';
}

const md = (s: string): string => s.replace(/([|\\`*_[\]<>])/g, '\\$1');

export function renderMarkdown(r: AuditReport): string {
  const out = ['# Lethe audit', '', ...header(r).map((l) => `- ${md(l)}`)];
  if (r.chain.length > 0) out.push('', '## Status chain', '', ...r.chain.map((c) => `- ${md(c.reason)}`));
  if (r.config.length > 0) out.push('', '## lethe.yaml history', '', ...r.config.map((c) => `- ${md(c)}`));
  out.push(
    '',
    '## Requests',
    '',
    '| Request | Verdict | Action | Regulation | Received | Due | Outcome |',
    '|---|---|---|---|---|---|---|',
  );
  for (const q of r.requests)
    out.push(
      `| ${md(q.name)} | ${q.verdict} | ${q.action ?? ''} | ${q.regulation ?? ''} | ${q.receivedAt ?? ''} | ${q.dueAt ?? ''} | ${md(q.outcome)} |`,
    );
  for (const q of r.requests) {
    out.push('', `### ${md(q.name)}: ${q.verdict}`, '');
    for (const reason of q.reasons) out.push(`- **Unproven:** ${md(reason)}`);
    for (const n of q.notes) out.push(`- Note: ${md(n)}`);
    out.push(`- Approval: ${md(approvalLine(q.approval))}`);
    for (const m of q.manifest)
      out.push(`- Manifest: ${m.date} \`${short(m.commit)}\` ${m.merge ? 'merge' : m.change} by ${md(m.author)}`);
    for (const s of q.status) out.push(`- Status: ${md(statusLine(s))}`);
    for (const s of q.shredded) out.push(`- Subject: ${md(shredLine(s))}`);
  }
  return out.join('\n') + '\n';
}

export function renderJson(r: AuditReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One printable page with its style inline: no script, no font, no image, no link out. */
export function renderHtml(r: AuditReport): string {
  const rows = r.requests
    .map(
      (q) =>
        `<tr class="${q.verdict.toLowerCase()}"><td><a href="#r-${esc(q.name)}">${esc(q.name)}</a></td><td>${q.verdict}</td><td>${esc(q.action ?? '')}</td><td>${esc(q.regulation ?? '')}</td><td>${esc(q.receivedAt ?? '')}</td><td>${esc(q.dueAt ?? '')}</td><td>${esc(q.outcome)}</td></tr>`,
    )
    .join('\n');
  const sections = r.requests
    .map((q) => {
      const list = (items: string[], cls = '') =>
        items.length === 0
          ? ''
          : `<ul${cls ? ` class="${cls}"` : ''}>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
      return [
        `<section id="r-${esc(q.name)}"><h3>${esc(q.name)} <span class="badge ${q.verdict.toLowerCase()}">${q.verdict}</span></h3>`,
        `<p>${esc(`${q.action ?? '?'} · ${q.regulation ?? '?'} · received ${q.receivedAt ?? '?'} · due ${q.dueAt ?? '?'} · ${q.outcome}`)}</p>`,
        list(
          q.reasons.map((x) => `Unproven: ${x}`),
          'reasons',
        ),
        list(q.notes.map((x) => `Note: ${x}`)),
        `<h4>Approval</h4><p>${esc(approvalLine(q.approval))}</p>`,
        `<h4>Manifest history</h4>${list(q.manifest.map((m) => `${m.date} ${short(m.commit)} ${m.merge ? 'merge' : m.change} by ${m.author}`)) || '<p>none</p>'}`,
        `<h4>Status history</h4>${list(q.status.map(statusLine)) || '<p>none</p>'}`,
        q.shredded.length > 0 ? `<h4>Subject</h4>${list(q.shredded.map(shredLine))}` : '',
        '</section>',
      ].join('\n');
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lethe audit ${esc(short(r.statusHead))}</title>
<style>
body{font:13px/1.45 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:20px}h3{font-size:15px;margin-top:1.6em}h4{font-size:13px;margin:.8em 0 .2em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
.unproven td:nth-child(2),.badge.unproven,.reasons{color:#a00}.badge{font-size:12px;border:1px solid;padding:0 4px}
.badge.proven,.proven td:nth-child(2){color:#070}ul{margin:.2em 0;padding-left:1.4em}
section{page-break-inside:avoid;border-top:1px solid #ddd}
@media print{a{color:inherit;text-decoration:none}body{margin:0}}
</style></head><body>
<h1>Lethe audit</h1>
${header(r)
  .map((l) => `<p>${esc(l)}</p>`)
  .join('\n')}
${r.chain.length > 0 ? `<h2>Status chain</h2><ul class="reasons">${r.chain.map((c) => `<li>${esc(c.reason)}</li>`).join('')}</ul>` : ''}
${r.config.length > 0 ? `<h2>lethe.yaml history</h2><ul>${r.config.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : ''}
<h2>Requests</h2>
<table><thead><tr><th>Request</th><th>Verdict</th><th>Action</th><th>Regulation</th><th>Received</th><th>Due</th><th>Outcome</th></tr></thead><tbody>
${rows}
</tbody></table>
${sections}
</body></html>
`;
}

/** The header and one line per request (with its reasons): what the demo prints. */
export function renderSummary(r: AuditReport): string {
  return (
    [...header(r), ...r.chain.map((c) => `CHAIN: ${c.reason}`), '', ...r.requests.map(renderRequestLine)].join('\n') +
    '\n'
  );
}

export function renderRequestLine(q: RequestAudit): string {
  return `${q.name.padEnd(16)} ${q.verdict.padEnd(9)} ${q.outcome}${q.reasons.length > 0 ? `\n${q.reasons.map((r) => `    - ${r}`).join('\n')}` : ''}${q.notes.length > 0 ? `\n${q.notes.map((n) => `    · ${n}`).join('\n')}` : ''}`;
}
