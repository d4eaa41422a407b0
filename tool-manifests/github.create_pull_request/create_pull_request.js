// Opens a pull request through ctx.fetch, the runner's egress boundary. The
// Authorization header is added by the runner (lane "github"), never here:
// this module has no credential to add, log or leak.
export default async function run(input, ctx) {
  const api = (input.apiUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  const payload = { title: input.title, head: input.head, base: input.base };
  if (input.body !== undefined) payload.body = input.body;
  if (input.draft !== undefined) payload.draft = input.draft;
  const res = await ctx.fetch(`${api}/repos/${input.repo}/pulls`, {
    method: 'POST',
    headers: {
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'toolcage-github-create-pull-request',
    },
    body: JSON.stringify(payload),
  });
  let data;
  try {
    data = await res.json();
  } catch {
    data = undefined;
  }
  if (res.status !== 201 || typeof data?.html_url !== 'string' || !Number.isInteger(data?.number)) {
    const why = typeof data?.message === 'string' ? `: ${data.message.slice(0, 200)}` : '';
    throw new Error(`GitHub answered ${res.status}${why}`);
  }
  return { pr_url: data.html_url, number: data.number };
}
