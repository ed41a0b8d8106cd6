// Runs the TypeScript sources directly (bench, local debugging): `node --import ./scripts/ts-loader.mjs x.ts`.
// Resolves the `.js` suffixes of relative imports to `.ts` files and transpiles them with TypeScript.
import { register } from 'node:module';

register('./ts-loader-hooks.mjs', import.meta.url);
