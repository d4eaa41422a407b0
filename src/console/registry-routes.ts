import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LOCK_FILE_NAME } from '../registry/lock.ts';
import type { Registry } from '../registry/registry.ts';
import { page, type ConsoleGuard } from './guard.ts';
import { registryPage, type LockFacts } from './registry-page.ts';

/** The Registry page: every tool the lock pins, and who signed the lock when. */
export function registerRegistryRoutes(
  scope: FastifyInstance,
  o: { guard: ConsoleGuard; registry: () => Registry; registryDir?: string | undefined },
): void {
  scope.get('/registry', async (request, reply) => {
    const s = await o.guard.sessionFor(request);
    if (!s) return reply.redirect('/console/login', 303);
    const tools = o
      .registry()
      .list()
      .sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : 1));
    return page(reply, registryPage(o.guard.ctxOf(s), tools, lockFacts(o.registryDir)));
  });
}

/** The lock's signing key id (its detached JWS header) and when the lock file was written. */
function lockFacts(dir: string | undefined): LockFacts {
  if (!dir) return {};
  try {
    const file = join(dir, LOCK_FILE_NAME);
    const lock = JSON.parse(readFileSync(file, 'utf8')) as { signature?: string };
    const header = lock.signature
      ? (JSON.parse(Buffer.from(lock.signature.split('.')[0]!, 'base64url').toString('utf8')) as {
          kid?: string;
        })
      : undefined;
    return { signer: header?.kid, date: statSync(file).mtime.toISOString() };
  } catch {
    return {};
  }
}
