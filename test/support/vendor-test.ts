import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../examples/sandbox/index.ts';

/**
 * Sandboxes and data directories for one driver test file, all removed when the file's
 * tests are done. `defaults` are the file's sandbox settings (time scale, seed, population).
 */
export function vendorTestResources(prefix: string, defaults: SandboxOptions) {
  const dirs: string[] = [];
  const sandboxes: Sandbox[] = [];
  after(async () => {
    await Promise.all(sandboxes.map((s) => s.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  return {
    async sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
      const sb = await startSandbox({ port: 0, ...defaults, ...options });
      sandboxes.push(sb);
      return sb;
    },
    async dataDir(): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), `lethe-${prefix}-`));
      dirs.push(d);
      return d;
    },
  };
}
