// Output helpers shaped like kubectl's: human durations (AGE), aligned tables,
// and -o json|yaml|name.
import { stringify } from 'yaml';
import type { KubeObject } from '../../operator/src/kube/types.ts';

/**
 * kubectl's duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration):
 * "45s", "5m30s", "17m", "5h3m", "30h", "3d4h", "23d", "2y10d", "9y".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const d = Math.floor(hours / 24) % 365;
    return d === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${d}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Age of a timestamp, as kubectl's AGE column; "<unknown>" without one. */
export function age(timestamp: string | undefined, now: Date): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

/** Time left until a deadline: "23m", "expired", or "<none>" when there is none. */
export function expiresIn(timestamp: string | undefined, now: Date): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return '<none>';
  const left = t - now.getTime();
  return left <= 0 ? 'expired' : humanDuration(left);
}

/** "in 23m" / "23m ago", for describe. */
export function relative(timestamp: string | undefined, now: Date): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return '';
  const d = t - now.getTime();
  return d > 0 ? `in ${humanDuration(d)}` : `${humanDuration(-d)} ago`;
}

/**
 * A kubectl-style table: upper-case headers, left-aligned columns three
 * spaces apart, no trailing spaces. Cells are single-line.
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const clean = (s: string | undefined): string => (s ?? '').replace(/[\r\n\t]+/g, ' ');
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => headers.map((_, i) => clean(r[i])))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** A list of strings for a table cell: "a,b,c", or "a,b,c +2 more". */
export function listCell(items: readonly string[] | undefined, max = 3): string {
  if (!items || items.length === 0) return '<none>';
  const shown = items.slice(0, max).join(',');
  return items.length > max ? `${shown} +${items.length - max} more` : shown;
}

export type OutputFormat = 'json' | 'yaml' | 'name';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'yaml', 'name'];

export function parseOutput(value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!allowed.includes(value))
    throw new Error(`unknown output format "${value}": use one of ${allowed.join(', ')}`);
  return value;
}

/** As kubectl without --show-managed-fields: managedFields are noise for a reader. */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata.managedFields) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** json/yaml of one object, or of several as a kubectl `List`. */
export function renderObjects(
  objs: readonly KubeObject[],
  format: OutputFormat,
  resource: string,
  asList: boolean,
): string {
  const items = objs.map(withoutManagedFields);
  if (format === 'name') return items.map((o) => `${resource}/${o.metadata.name ?? ''}\n`).join('');
  const doc: unknown = asList ? { apiVersion: 'v1', kind: 'List', metadata: {}, items } : items[0];
  return format === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc);
}
