import { describe, expect, it } from '@jest/globals';
import { parseArgv } from '../../src/options/argv.js';
import { ArgReader, splitList } from '../../src/options/flags.js';
import type { FlagSpec } from '../../src/options/flags.js';

const flags: FlagSpec[] = [
  { name: 'path', type: 'string', description: '' },
  { name: 'tag', type: 'list', description: '' },
  { name: 'reproducible', type: 'boolean', description: '' },
];

describe('argument parser', () => {
  it('reads --flag value, --flag=value, switches, repeated and comma lists, positionals', () => {
    const raw = parseArgv(
      'push',
      ['oci://r/x:1', '--path', 'deploy', '--tag=a,b', '--tag', 'c', '--reproducible'],
      flags,
    );
    const args = new ArgReader('push', raw);
    expect(args.positional(0)).toBe('oci://r/x:1');
    expect(args.string('path')).toBe('deploy');
    expect(args.list('tag')).toEqual(['a', 'b', 'c']);
    expect(args.boolean('reproducible')).toBe(true);
  });

  it('turns --no-switch off and refuses a value on it', () => {
    const args = new ArgReader('push', parseArgv('push', ['--no-reproducible'], flags));
    expect(args.boolean('reproducible', true)).toBe(false);
    expect(() => parseArgv('push', ['--no-reproducible=x'], flags)).toThrow('takes no value');
  });

  it('refuses a string flag given twice and a flag with no value', () => {
    expect(() => parseArgv('push', ['--path', 'a', '--path', 'b'], flags)).toThrow('--path given twice');
    expect(() => parseArgv('push', ['--path'], flags)).toThrow('--path needs a value');
    expect(() => parseArgv('push', ['--path', '--tag', 'x'], flags)).toThrow('--path needs a value');
  });

  it('reads action-style strings: booleans and newline lists', () => {
    const raw = {
      values: new Map<string, string>([
        ['tag', 'v1\nlatest, x'],
        ['reproducible', 'true'],
      ]),
      positionals: [],
    };
    const args = new ArgReader('push', raw);
    expect(args.list('tag')).toEqual(['v1', 'latest', 'x']);
    expect(args.boolean('reproducible')).toBe(true);
    expect(() =>
      new ArgReader('push', { values: new Map([['reproducible', 'maybe']]), positionals: [] }).boolean(
        'reproducible',
      ),
    ).toThrow('must be true or false');
    expect(splitList(' a ,, b\n')).toEqual(['a', 'b']);
  });
});
