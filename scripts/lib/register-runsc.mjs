import process from 'node:process';
// Merges gVisor's runsc into the Docker Engine's daemon.json under `runtimes`, keeping every other
// key. Prints `changed` or `unchanged`. Usage: node register-runsc.mjs /etc/docker/daemon.json /usr/bin/runsc
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const [file = '/etc/docker/daemon.json', path = '/usr/bin/runsc'] = process.argv.slice(2);
const current = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8') || '{}') : {};
if (current === null || typeof current !== 'object' || Array.isArray(current))
  throw new Error(`${file} does not hold a JSON object`);
// --network=none: runsc refuses to start in the root network namespace otherwise; toolcage's
// containers have no network anyway (NetworkMode none). --host-uds=open: a tool may connect to a
// host Unix socket bound into its container, which is only ever its call's egress proxy socket
// (gVisor refuses every host socket otherwise, and egress would fail).
const wanted = { path, runtimeArgs: ['--network=none', '--host-uds=open'] };
const runtimes = { ...(current.runtimes ?? {}) };
if (JSON.stringify(runtimes.runsc) === JSON.stringify(wanted)) {
  process.stdout.write('unchanged\n');
} else {
  runtimes.runsc = wanted;
  const next = `${JSON.stringify({ ...current, runtimes }, null, 2)}\n`;
  writeFileSync(`${file}.toolcage-tmp`, next, { mode: 0o644 });
  renameSync(`${file}.toolcage-tmp`, file);
  process.stdout.write('changed\n');
}
