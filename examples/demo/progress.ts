import type { Controller } from '../../controller/core/app.ts';
import type { PassReport } from '../../controller/core/reconcile.ts';

/**
 * Live progress for the demo: one line per change a pass made (request phases and vendor
 * tasks), and on a terminal a status line with counts per phase that is rewritten in place.
 */
export class Progress {
  private tasks = new Map<string, string>();
  private readonly started = Date.now();

  constructor(
    private readonly controller: Controller,
    private readonly out: (line: string) => void,
    private readonly tty: boolean,
  ) {}

  private stamp(): string {
    return `${String(Math.round((Date.now() - this.started) / 1000)).padStart(4)}s`;
  }

  pass(report: PassReport): void {
    this.clearLine();
    for (const t of Object.values(this.controller.journal.data.tasks).sort((a, b) =>
      `${a.request}/${a.vendor}`.localeCompare(`${b.request}/${b.vendor}`),
    )) {
      const key = `${t.request}/${t.vendor}`;
      const now = `${t.phase}${t.outcome ? ` (${t.outcome})` : t.phase === 'InProgress' ? ` (${t.step})` : ''}`;
      if (this.tasks.get(key) !== now) {
        this.out(
          `${this.stamp()}  ${t.request}  ${t.vendor.padEnd(12)} ${now}${t.lastError ? `  last error ${t.lastError.code}` : ''}`,
        );
        this.tasks.set(key, now);
      }
    }
    for (const c of report.changes) {
      if (c.from !== c.to) this.out(`${this.stamp()}  ${c.name}  request      ${c.from ? `${c.from} -> ` : ''}${c.to}`);
    }
    if (report.commit)
      this.out(
        `${this.stamp()}  status commit ${report.commit.slice(0, 10)}${report.pushed ? ' pushed to origin' : ''}`,
      );
    this.statusLine();
  }

  private counts(): string {
    const by = new Map<string, number>();
    for (const s of this.controller.reconciler.currentStatuses())
      by.set(s.status.phase, (by.get(s.status.phase) ?? 0) + 1);
    return [...by]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, n]) => `${p} ${n}`)
      .join(' · ');
  }

  private statusLine(): void {
    if (this.tty) process.stdout.write(`${this.stamp()}  ${this.counts()}\r`);
  }

  private clearLine(): void {
    if (this.tty) process.stdout.write('\x1b[2K\r');
  }

  done(): void {
    this.clearLine();
  }
}
