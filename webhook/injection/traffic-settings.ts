// Which outbound traffic the init container redirects: the configuration's defaults, adjusted by
// the pod's traffic.sidegate.dev/* annotations. A malformed annotation is an error, never ignored:
// silently falling back to defaults could leave a port the operator meant to capture uncaptured.
import type { InjectionConfig } from '../config/injection-config.js';
import { normaliseCidr } from '../../core/network/cidr.js';
import { EXCLUDE_CIDRS_ANNOTATION, EXCLUDE_PORTS_ANNOTATION, INCLUDE_PORTS_ANNOTATION } from './pod-markers.js';

export interface TrafficSettings {
  includePorts: number[] | '*';
  excludePorts: number[];
  excludeCidrs: string[];
}

export type TrafficSettingsResult = { ok: true; settings: TrafficSettings } | { ok: false; reason: string };

export function resolveTrafficSettings(annotations: Record<string, string>, config: InjectionConfig): TrafficSettingsResult {
  const problems: string[] = [];
  const includeRaw = annotations[INCLUDE_PORTS_ANNOTATION];
  const excludeRaw = annotations[EXCLUDE_PORTS_ANNOTATION];
  const cidrsRaw = annotations[EXCLUDE_CIDRS_ANNOTATION];

  let includePorts: number[] | '*' = config.includeOutboundPorts;
  if (includeRaw !== undefined) {
    if (includeRaw.trim() === '*') includePorts = '*';
    else includePorts = parsePortList(includeRaw, INCLUDE_PORTS_ANNOTATION, problems);
  }
  let excludePorts = config.excludeOutboundPorts;
  if (excludeRaw !== undefined) excludePorts = unique([...excludePorts, ...parsePortList(excludeRaw, EXCLUDE_PORTS_ANNOTATION, problems)]);
  let excludeCidrs = config.excludeOutboundIpRanges;
  if (cidrsRaw !== undefined) excludeCidrs = unique([...excludeCidrs, ...splitList(cidrsRaw)]);
  excludeCidrs = excludeCidrs.map((cidr) => {
    const normalised = normaliseCidr(cidr);
    if (normalised === undefined) problems.push(`"${cidr}" in ${EXCLUDE_CIDRS_ANNOTATION} is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
    return normalised ?? cidr;
  });
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  return { ok: true, settings: { includePorts: includePorts === '*' ? '*' : unique(includePorts), excludePorts: unique(excludePorts), excludeCidrs: unique(excludeCidrs) } };
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parsePortList(raw: string, annotation: string, problems: string[]): number[] {
  const items = splitList(raw);
  if (items.length === 0) {
    problems.push(`${annotation} is empty; list ports like "5432,443"${annotation === INCLUDE_PORTS_ANNOTATION ? ' or "*" for all TCP' : ''}`);
    return [];
  }
  const ports: number[] = [];
  for (const item of items) {
    const port = /^[0-9]{1,5}$/.test(item) ? Number(item) : NaN;
    if (!(port >= 1 && port <= 65535)) problems.push(`"${item}" in ${annotation} is not a TCP port (1-65535)`);
    else ports.push(port);
  }
  return ports;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
