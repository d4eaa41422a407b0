/**
 * A `.cpuprofile` of this process's main thread around the measured part of a
 * profile bench (warm-up left out). PROFILE_INTERVAL_US sets the sampling
 * interval (default 1000 µs): finer samples for a flat profile's small items.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Starts profiling when `out` is set; the returned function stops and writes it there. */
export async function profileTo(out: string | undefined): Promise<() => Promise<void>> {
  if (!out) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', {
    interval: Number(process.env.PROFILE_INTERVAL_US ?? 1000),
  });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(out, JSON.stringify(profile));
    session.disconnect();
  };
}
