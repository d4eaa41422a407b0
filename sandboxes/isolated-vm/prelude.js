// toolcage guest prelude: runs first in every fresh isolated-vm context, before
// the tool's module. It is guest code (it runs INSIDE the isolate); the host
// worker reads this file as text and never imports it.
//
// It (1) strips the global of what could escape the memory limit or is not
// needed, and (2) evaluates to the `invoke` function the host calls once per
// run. `invoke` captures the intrinsics it needs now, before any tool code can
// replace them, and always resolves to a string the host decodes:
//   'o' + json     the JSON text of the return value
//   'x' + length   the JSON text is longer than maxBytes (UTF-8 bytes >= UTF-16 length)
//   'n' + reason   the return value is not JSON (undefined, function, BigInt, cycle)
//   'e' + message  the tool threw (or rejected); message truncated
//   'f'            the module has no default export function
(function prelude() {
  'use strict';
  const g = globalThis;
  const { parse, stringify } = JSON;
  const { freeze, isFrozen, defineProperty } = Object;
  const { construct, apply, ownKeys } = Reflect;
  const StringCtor = String;
  const slice = String.prototype.slice;

  // Memory the isolate's limit does not see (measured on this machine, 16 MB
  // limit): WebAssembly.Memory.grow reached 189 MB RSS and resizable
  // ArrayBuffer.resize 1.6 GB before a 4 s timeout, with the isolate's heap
  // statistics showing 0 bytes. Plain and Shared ArrayBuffers and typed arrays
  // go through isolated-vm's limited allocator ("Array buffer allocation
  // failed" at the limit), so plain ones stay; shared memory and Atomics
  // are not needed by a single-threaded tool.
  for (const name of ['WebAssembly', 'SharedArrayBuffer', 'Atomics']) delete g[name];

  // Resizable ArrayBuffers (new ArrayBuffer(n, { maxByteLength })) reserve and
  // commit memory outside the limited allocator. Replace the constructor with
  // one that drops the options, and make it the only reachable one.
  const IntrinsicArrayBuffer = g.ArrayBuffer;
  function ArrayBuffer(length) {
    if (new.target === undefined) throw new TypeError("Constructor ArrayBuffer requires 'new'");
    return construct(IntrinsicArrayBuffer, [length], new.target);
  }
  defineProperty(ArrayBuffer, 'prototype', {
    value: IntrinsicArrayBuffer.prototype,
    writable: false,
  });
  defineProperty(ArrayBuffer, 'isView', {
    value: IntrinsicArrayBuffer.isView,
    writable: true,
    configurable: true,
  });
  defineProperty(IntrinsicArrayBuffer.prototype, 'constructor', {
    value: ArrayBuffer,
    writable: true,
    configurable: true,
  });
  defineProperty(g, 'ArrayBuffer', { value: ArrayBuffer, writable: true, configurable: true });

  // The host's answers to a run's host calls (ctx.fetch) reach the guest through
  // isolated-vm, which resolves a promise with another promise: V8 then looks
  // up `then`, `constructor` and the species on Promise.prototype and Promise.
  // A tool that replaced any of them would get a callback after its run has
  // ended, outside its time limit, in an isolate that serves other calls.
  // Freezing both makes that lookup land on the intrinsics.
  freeze(g.Promise.prototype);
  freeze(g.Promise);

  // console output is discarded: it never reaches the agent or the host.
  const noop = function () {};
  defineProperty(g, 'console', {
    value: freeze({ log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop }),
    writable: true,
    configurable: true,
  });

  function deepFreeze(value) {
    if (typeof value === 'object' && value !== null && !isFrozen(value)) {
      freeze(value);
      for (const key of ownKeys(value)) deepFreeze(value[key]);
    }
    return value;
  }

  function describe(err) {
    let text;
    try {
      if (typeof err === 'object' && err !== null && typeof err.message === 'string') {
        const name = typeof err.name === 'string' ? err.name : 'Error';
        text = name + ': ' + err.message;
      } else {
        text = StringCtor(err);
      }
    } catch {
      text = 'an error that cannot be described';
    }
    return apply(slice, text, [0, 200]);
  }

  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const isArray = Array.isArray;
  const entries = Object.entries;
  const toLower = String.prototype.toLowerCase;

  function egressError(error) {
    const err = new ErrorCtor(
      typeof error?.message === 'string' ? error.message : 'The request failed.',
    );
    defineProperty(err, 'name', { value: 'EgressError', configurable: true, writable: true });
    defineProperty(err, 'kind', {
      value: typeof error?.kind === 'string' ? error.kind : 'network',
      enumerable: true,
    });
    return err;
  }

  function makeHeaders(pairs) {
    const list = isArray(pairs) ? pairs : [];
    const all = (name) => {
      const n = apply(toLower, StringCtor(name), []);
      const values = [];
      for (const p of list) if (p[0] === n) values.push(p[1]);
      return values;
    };
    return freeze({
      get(name) {
        const values = all(name);
        return values.length === 0 ? null : values.join(', ');
      },
      has(name) {
        return all(name).length > 0;
      },
      entries() {
        return list.map((p) => [p[0], p[1]]);
      },
    });
  }

  function makeResponse(r) {
    const body = typeof r.body === 'string' ? r.body : '';
    return freeze({
      status: r.status,
      statusText: r.statusText,
      ok: r.status >= 200 && r.status < 300,
      redirected: false,
      url: r.url,
      headers: makeHeaders(r.headers),
      text: async () => body,
      json: async () => parse(body),
    });
  }

  // A host call's answer reaches the guest only while its run is live. After
  // the tool has settled, a late answer is dropped here, so a continuation the
  // tool left on an unawaited host call never runs in this (reused) isolate
  // outside the run's time limit. The reaction is attached with the captured
  // `then` on a promise whose own `constructor` is undefined: neither a
  // replaced Promise.prototype.then nor a species constructor planted by the
  // tool gets a callback that could fire after the run.
  const PromiseCtor = Promise;
  const promiseThen = PromiseCtor.prototype.then;
  function whileLive(state, pending) {
    return new PromiseCtor((resolve, reject) => {
      defineProperty(pending, 'constructor', { value: undefined });
      apply(promiseThen, pending, [
        (value) => {
          if (state.live) resolve(value);
        },
        (error) => {
          if (state.live) reject(error);
        },
      ]);
    });
  }

  // ctx.fetch(url, { method, headers, body }): the tool's only way out. The
  // request goes, as JSON text, to the host's egress boundary (allowlist,
  // address checks, credential injection); redirects come back as they are.
  function makeFetch(bridge, state) {
    return async function fetch(url, init) {
      const request = { url: typeof url === 'string' ? url : StringCtor(url) };
      if (init !== undefined && init !== null) {
        if (typeof init !== 'object') throw new TypeErrorCtor('ctx.fetch: init must be an object');
        if (init.method !== undefined) request.method = StringCtor(init.method);
        if (init.headers !== undefined && init.headers !== null) {
          const raw = isArray(init.headers) ? init.headers : entries(init.headers);
          request.headers = raw.map((pair) => [StringCtor(pair[0]), StringCtor(pair[1])]);
        }
        if (init.body !== undefined && init.body !== null) {
          if (typeof init.body !== 'string')
            throw new TypeErrorCtor('ctx.fetch: body must be a string (use JSON.stringify)');
          request.body = init.body;
        }
      }
      if (!state.live) return new PromiseCtor(() => {});
      const pending = bridge.apply(undefined, [stringify(request)], {
        arguments: { copy: true },
        result: { promise: true, copy: true },
      });
      const answer = parse(await whileLive(state, pending));
      if (answer.error) throw egressError(answer.error);
      return makeResponse(answer.response);
    };
  }

  return async function invoke(ns, inputJson, ctxJson, maxBytes, bridge) {
    const run = ns.default;
    if (typeof run !== 'function') return 'f';
    let value;
    const state = { live: true };
    try {
      const ctx = parse(ctxJson);
      ctx.fetch = makeFetch(bridge, state);
      value = await run(parse(inputJson), deepFreeze(ctx));
    } catch (err) {
      return 'e' + describe(err);
    } finally {
      state.live = false;
    }
    let json;
    try {
      json = stringify(value);
    } catch (err) {
      return 'n' + describe(err);
    }
    if (typeof json !== 'string') return 'n' + typeof value;
    if (json.length > maxBytes) return 'x' + json.length;
    return 'o' + json;
  };
})();
