/**
 * Answers for requests that never reach a route: what Node's HTTP parser
 * refuses (a malformed request line, a bad Content-Length, oversized headers,
 * headers or a body sent too slowly) and a known path asked with the wrong
 * method. Each gets the contract's error body and an `x-request-id`, like
 * every other answer, instead of the framework's own shape (issue 16,
 * "Protocol-level HTTP answers").
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { requestIdFrom } from './request-id.ts';

/** Node's parser error codes (llhttp `HPE_*`, plus the server's own timeouts), translated once. */
export function translateClientError(err: { code?: unknown }): ToolcageError {
  switch (err?.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ToolcageError('request_timeout');
    case 'HPE_HEADER_OVERFLOW':
      return new ToolcageError('request_headers_too_large');
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new ToolcageError('request_invalid', {
        message:
          'The Content-Length header is invalid (not a single decimal number, or sent with Transfer-Encoding).',
      });
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return new ToolcageError('request_invalid', {
        message: 'The Transfer-Encoding header is invalid; send chunked or a Content-Length.',
      });
    case 'HPE_INVALID_METHOD':
    case 'HPE_INVALID_URL':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_CONSTANT':
      return new ToolcageError('request_invalid', {
        message: 'The request line is malformed; send "METHOD /path HTTP/1.1".',
      });
    default:
      return new ToolcageError('request_invalid', {
        message: 'The request is not valid HTTP/1.1 and could not be parsed.',
      });
  }
}

/**
 * Fastify's `clientErrorHandler`: the request was never parsed, so the answer
 * is written on the socket by hand, then the connection is closed (the
 * parser's state is unknown, so nothing more is read from it).
 */
export function answerClientError(err: { code?: unknown }, socket: Socket): void {
  // A reset peer, or a socket already answering a request (a timeout mid-response): nothing to say.
  if (err?.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  if ((socket as { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const error = translateClientError(err);
  const requestId = requestIdFrom(undefined);
  const body = JSON.stringify(error.toBody(requestId));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
  // A peer that never reads cannot keep the socket: it is closed either way.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/**
 * The routes of an app by method, to tell "no such path" (404) from "no such
 * method on this path" (405 with `Allow`, RFC 9110 §15.5.6).
 */
export class RouteMethods {
  readonly #routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(url: string, method: string | string[]): void {
    const source = url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const pattern = new RegExp(`^${source}/?$`);
    let route = this.#routes.find((r) => r.pattern.source === pattern.source);
    if (!route) this.#routes.push((route = { pattern, methods: new Set() }));
    for (const m of Array.isArray(method) ? method : [method]) route.methods.add(m.toUpperCase());
  }

  /** The methods `path` accepts, sorted; empty when no route has this path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.#routes)
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}
