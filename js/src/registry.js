// Registry lookups (SPEC.md §8) over the compiled-in tables.
import data from './registry_data.js';
import { fail } from './errors.js';

function indexTable(entries, idName = 'id') {
  const byId = new Map(), byKey = new Map();
  for (const e of entries) { byId.set(e[idName], e); byKey.set(e.key, e); }
  return { entries, byId, byKey };
}

// How each referenced table is coded on the wire (SPEC.md §3.9, §8.1), from
// the tables' own `coded_as`.
export const CODED_AS = Object.freeze({ ...data.coded_as });

export class Registry {
  constructor(d = data) {
    this.version = d.version;
    this.tables = {};
    this.codedAs = d.coded_as;
    for (const t of Object.keys(d.tables)) this.tables[t] = indexTable(d.tables[t]);
    this.families = new Map(d.families.map((f) => [f.key, f]));
    this.extensions = new Map(d.extensions.map((e) => [e.tag, e]));
    this.extensionsByKey = new Map(d.extensions.map((e) => [e.key, e]));
  }
  byId(table, id, offset) {
    const e = this.tables[table].byId.get(id);
    if (!e) fail('E_UNKNOWN_ID', `${table}: no entry with ID ${id}`, offset);
    return e;
  }
  byKey(table, key, offset = null) {
    const e = typeof key === 'string' ? this.tables[table].byKey.get(key) : undefined;
    if (!e) fail('E_UNKNOWN_ID', `${table}: no entry with key ${JSON.stringify(key)}`, offset);
    return e;
  }
  family(key) { return this.families.get(key); }
}

export const registry = new Registry();
