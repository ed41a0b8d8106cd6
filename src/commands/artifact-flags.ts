import { ArgReader } from '../options/flags.js';
import type { FlagSpec } from '../options/flags.js';
import { UsageError } from '../errors.js';
import { RegistryClient } from '../oci/client.js';
import { parseOciReference, type OciReference } from '../oci/reference.js';
import type { CommandIO } from './types.js';
import type { ContentOptions } from '../oci/artifact/options.js';
import type { SigningOptions } from '../sign/options.js';

export type { ContentOptions } from '../oci/artifact/options.js';
export type { SigningOptions } from '../sign/options.js';

/** How the content of a Flux artifact is collected (build, push, diff-artifact). */
export const contentFlags: FlagSpec[] = [
  {
    name: 'path',
    type: 'string',
    value: 'DIR|FILE|-',
    description: 'Directory, single file, or - for stdin, as `flux build artifact` takes it.',
  },
  {
    name: 'ignore-paths',
    type: 'list',
    value: 'PATTERN',
    description:
      'gitignore patterns left out; a given list replaces the flux CLI defaults (VCS files and binary extensions).',
  },
  {
    name: 'resolve-symlinks',
    type: 'boolean',
    description: 'Copy the targets of symlinks instead of skipping them (cycles are broken).',
  },
];

export function readContentOptions(args: ArgReader, raw: { values: Map<string, unknown> }): ContentOptions {
  return {
    path: args.requiredString('path'),
    ignorePaths: raw.values.has('ignore-paths') ? args.list('ignore-paths') : undefined,
    resolveSymlinks: args.boolean('resolve-symlinks'),
  };
}

export function readSigningOptions(
  command: string,
  args: ArgReader,
  provider: 'cosign' | 'notation',
  env: NodeJS.ProcessEnv,
): SigningOptions {
  const opts: SigningOptions = {
    provider,
    cosignKey: args.string('cosign-key') || undefined,
    cosignPassword: args.string('cosign-password') ?? env.COSIGN_PASSWORD,
    keyless: args.boolean('keyless'),
    bundleFormat: args.boolean('bundle-format'),
    fulcioUrl: args.string('fulcio-url') || undefined,
    rekorUrl: args.string('rekor-url') || undefined,
    notationKey: args.string('notation-key') || undefined,
    notationCert: args.string('notation-cert') || undefined,
    signatureFormat: args.choice('signature-format', ['jws', 'cose'] as const, 'jws'),
    expiry: args.string('expiry') || undefined,
  };
  if (provider === 'cosign') {
    if (opts.cosignKey && opts.keyless)
      throw new UsageError(`${command}: --cosign-key and --keyless exclude each other`);
    // As cosign: without a key, signing is keyless (in the action: `sign: cosign` alone).
    if (!opts.cosignKey) opts.keyless = true;
  } else if (!opts.notationKey || !opts.notationCert) {
    throw new UsageError(`${command}: notation signing needs --notation-key FILE and --notation-cert FILE`);
  }
  return opts;
}

/** The registry client every registry-talking command uses, from its common flags. */
export function registryClientFor(
  options: { insecureRegistry: boolean; creds?: string },
  io: CommandIO,
): RegistryClient {
  return new RegistryClient({
    insecure: options.insecureRegistry,
    creds: options.creds,
    env: io.env,
    log: io.log,
  });
}

/** An `oci://` reference that must name a digest or a tag (bad usage otherwise). */
export function parseArtifactUrl(command: string, url: string): OciReference {
  try {
    return parseOciReference(url);
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
}

/** JSON on stdout, indented as the flux CLI prints it. */
export function printJson(io: CommandIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}
