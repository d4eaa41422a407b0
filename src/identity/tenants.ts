import { ANY_TENANT } from './principal.ts';

/**
 * The tenants a credential lists, cleaned: strings only, each at most 128
 * characters, duplicates dropped, order kept (the first is the default).
 */
export function tenantList(value: unknown): string[] {
  const raw = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  const out: string[] = [];
  for (const item of raw) {
    if (typeof item !== 'string' || item === '' || item.length > 128 || out.includes(item))
      continue;
    out.push(item);
  }
  return out;
}

/** The default tenant of a list: its first entry, or the configured one when the list is `['*', …]`. */
export function defaultTenantOf(tenants: string[], configured: string): string {
  const first = tenants[0];
  return first === undefined || first === ANY_TENANT ? configured : first;
}
