import { describe, expect, it } from 'vitest';
import {
  decodeInvokeResult,
  sanitise,
  translateIsolateError,
  workerExited,
} from '../../../src/sandbox/isolated-vm/translate.ts';

describe('isolated-vm error translation', () => {
  it('maps isolated-vm messages to contract codes', () => {
    expect(translateIsolateError(new Error('Script execution timed out.'), 100, 16).code).toBe(
      'timeout',
    );
    expect(
      translateIsolateError(
        new Error('Isolate was disposed during execution due to memory limit'),
        100,
        16,
      ).code,
    ).toBe('memory_limit');
    expect(translateIsolateError(new Error('Unexpected token'), 100, 16)).toMatchObject({
      code: 'sandbox_failed',
      message: 'The tool failed to load: Unexpected token',
    });
  });

  it('maps guest allocation failures to memory_limit only near the limit, and other throws to sandbox_failed', () => {
    expect(
      decodeInvokeResult('eRangeError: Array buffer allocation failed', 10, 100, 16, () => true),
    ).toMatchObject({ code: 'memory_limit' });
    expect(
      decodeInvokeResult('eRangeError: Invalid string length', 10, 100, 16, () => false),
    ).toMatchObject({
      code: 'sandbox_failed',
      message: 'The tool threw: RangeError: Invalid string length',
    });
    expect(decodeInvokeResult('eError: nope', 10, 100, 16)).toMatchObject({
      code: 'sandbox_failed',
      message: 'The tool threw: Error: nope',
    });
    expect(decodeInvokeResult(42, 10, 100, 16)).toMatchObject({ code: 'sandbox_failed' });
  });

  it('counts output bytes as UTF-8', () => {
    expect(decodeInvokeResult('o"éé"', 5, 100, 16)).toMatchObject({ code: 'output_too_large' });
    expect(decodeInvokeResult('o"éé"', 6, 100, 16)).toEqual({ ok: true, outputJson: '"éé"' });
  });

  it('sanitises: one line, at most 200 characters', () => {
    expect(sanitise('a\nb\u0000c')).toBe('a b c');
    expect(sanitise('x'.repeat(500))).toHaveLength(200);
  });

  it('maps a worker death to sandbox_failed, or memory_limit when V8 reported OOM', () => {
    expect(workerExited('SIGKILL', '')).toMatchObject({ code: 'sandbox_failed' });
    expect(
      workerExited(
        'SIGABRT',
        'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ),
    ).toMatchObject({ code: 'memory_limit' });
  });
});
