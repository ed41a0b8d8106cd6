import { startRegistry, type TestRegistry } from './registry.ts';
import { TOOLS_BIN } from './tools.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

declare global {
  var __FLUXGATE_REGISTRY__: TestRegistry | undefined;
}

/** Once per run: the shared registry. Workers inherit its address through the environment. */
export default async function globalSetup(): Promise<void> {
  for (const tool of ['kubectl', 'helm']) {
    if (!existsSync(join(TOOLS_BIN, tool))) {
      throw new Error(
        `test bed: ${join(TOOLS_BIN, tool)} is missing; run 'npm run setup' (or 'npm test', which runs it)`,
      );
    }
  }
  const registry = await startRegistry();
  globalThis.__FLUXGATE_REGISTRY__ = registry;
  process.env.FLUXGATE_TEST_REGISTRY = registry.host;
}
