import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

export interface FakeGithub extends LoopbackServer {
  /** Bearer tokens the fake API received, verified or not. */
  tokens: string[];
  /** Payloads of tokens that verified against the runner JWKS. */
  verified: JWTPayload[];
  setJwks(jwks: JSONWebKeySet): void;
}

/**
 * A fake GitHub REST API on 127.0.0.1: `POST /repos/:owner/:repo/pulls` opens
 * PR #N when the bearer token is a runner-minted JWT that verifies against
 * the runner JWKS for `audience`, and carries `pr:create`.
 */
export async function startFakeGithub(audience: string): Promise<FakeGithub> {
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  const tokens: string[] = [];
  const verified: JWTPayload[] = [];
  let next = 41;
  const server = await startLoopbackServer((req, res) => {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(req.url);
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const reply = (status: number, body: unknown) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (!m || req.method !== 'POST') return reply(404, { message: 'Not Found' });
    if (!token || !jwks) return reply(401, { message: 'Requires authentication' });
    tokens.push(token);
    jwtVerify(token, jwks, {
      issuer: 'toolcage-runner',
      audience,
      algorithms: ['EdDSA', 'ES256'],
    }).then(
      ({ payload }) => {
        if (
          !String(payload.scope ?? '')
            .split(' ')
            .includes('pr:create')
        )
          return reply(403, { message: 'Resource not accessible by integration' });
        verified.push(payload);
        const body = JSON.parse(req.body) as { title: string };
        const number = ++next;
        reply(201, {
          number,
          html_url: `https://github.example/${m[1]}/${m[2]}/pull/${number}`,
          title: body.title,
        });
      },
      () => reply(401, { message: 'Bad credentials' }),
    );
  });
  return Object.assign(server, {
    tokens,
    verified,
    setJwks: (k: JSONWebKeySet) => void (jwks = createLocalJWKSet(k)),
  });
}
