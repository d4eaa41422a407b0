/**
 * Guest code that walks everything a tool can reach from its global (own
 * properties, symbols, accessors, prototypes) and leaves `places`: every data
 * property as [object, key, path, writable]. Shared by the realm tests: one
 * call writes markers everywhere it can, the next looks for them.
 */
export const WALK_REALM = `
  const seen = new Set();
  const places = [];
  const todo = [[globalThis, 'globalThis']];
  while (todo.length > 0) {
    const [o, path] = todo.pop();
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) continue;
    seen.add(o);
    for (const key of Reflect.ownKeys(o)) {
      let d;
      try { d = Object.getOwnPropertyDescriptor(o, key); } catch { continue; }
      const at = path + '.' + String(key);
      if ('value' in d) {
        places.push([o, key, at, d.writable]);
        todo.push([d.value, at]);
      } else {
        if (d.get) todo.push([d.get, at + '<get>']);
        if (d.set) todo.push([d.set, at + '<set>']);
      }
    }
    todo.push([Object.getPrototypeOf(o), path + '.__proto__']);
  }
`;

/** A double V8 keeps boxed (not a small integer), and a name: what one call leaves for the next. */
export const MARK = 271828.5;
export const MARK_KEY = '__toolcage_mark';

/**
 * A tool that writes MARK (and MARK + n, in a loop that gets the stores
 * optimised) into every writable number it can reach, and MARK_KEY onto every
 * object that takes it; returns how many places it wrote.
 */
export const LEAVE_MARKS = `export default function run() {
  ${WALK_REALM}
  let numbers = 0, objects = 0;
  for (const [o, key, , writable] of places) {
    if (writable && typeof o[key] === 'number') {
      try { o[key] = ${MARK}; for (let i = 0; i < 2000; i++) o[key] = ${MARK} + (i % 2); o[key] = ${MARK}; numbers++; } catch {}
    }
  }
  for (const o of seen) {
    try { if (Reflect.set(o, '${MARK_KEY}', ${MARK})) objects++; } catch {}
  }
  return { numbers, objects };
}`;

/** A tool that returns the paths of every place holding a mark (none, in a fresh realm). */
export const FIND_MARKS = `export default function run() {
  ${WALK_REALM}
  const found = [];
  for (const [o, key, at] of places) {
    let v;
    try { v = o[key]; } catch { continue; }
    if (key === '${MARK_KEY}' || v === ${MARK} || v === ${MARK} + 1) found.push(at);
  }
  return { places: places.length, found };
}`;
