// Plans the masking of each result (RowDescription) of one session, with what the catalog and the
// statement say about where its columns come from, and caches the plans.
//
// - A plan is cached per statement (its inspection, or the shape it shares with texts that differ
//   only in literals) and RowDescription, for at most CACHE_TTL_MS, so a hot statement costs a map
//   lookup, and the catalog is asked again at most once per TTL (catalog-names.ts).
// - Column rules are matched against the cached name of each column's table and every relation
//   the statement names. A cached name the statement does not name (a FETCH, an EXECUTE, or a
//   table renamed since) is looked up again before the plan is made: a stale name never decides
//   that a column is unmasked.
// - Columns without a source of their own take the strategy of the column rules covering the
//   statement's relations (derived-columns.ts).
import type { MaskingRule, Principal, TargetSpec } from '../../../core/vocabulary.js';
import { derivedStrategy, strongestColumnStrategy, type SourceRelation } from '../../masking/index.js';
import type { InspectedStatement } from './sql-inspector.js';
import { CACHE_TTL_MS, type CatalogNames, type RelationSource } from './catalog-names.js';
import { RowShape, sqlIdentifiers, type StatementSources, type TableName } from './row-shape.js';
import * as wire from './wire.js';

/** Operations whose result columns may come from relations the statement does not name. */
const UNKNOWN_SOURCE_OPERATIONS = new Set(['FETCH', 'EXECUTE', 'CALL', 'UNKNOWN']);
const MAX_SHAPES_PER_STATEMENT = 64;
/** Plans of a session without column rules (keyed by RowDescription alone). */
const MAX_PLAIN_SHAPES = 256;
/** Functions that store a value in a setting, and the ways to read settings back. */
const SETTING_WRITERS = new Set(['set_config']);
const SETTING_READERS = new Set(['current_setting', 'pg_show_all_settings']);
const SETTING_VIEWS = new Set(['pg_settings']);

interface Cached {
  shape: RowShape;
  at: number;
  /** The catalog's generation for the target when planned (a DDL anywhere through sidegate bumps it). */
  generation: number;
}

export interface PlannerContext {
  catalog: CatalogNames;
  target: TargetSpec;
  database: string;
  principal: () => Principal;
  rules: readonly MaskingRule[];
  hashKey: Buffer | undefined;
  /** Logs a catalog failure (the plan then masks conservatively). */
  warn(message: string, error: string): void;
}

export class ResultShapePlanner {
  private readonly columnRules: boolean;
  /** This session stored a value read from a masked relation in a setting (unknownSources). */
  private settingsTainted = false;
  private plain = new Map<string, Cached>();
  private perStatement = new WeakMap<InspectedStatement, Map<string, Cached>>();

  constructor(private readonly ctx: PlannerContext) {
    // Column rules need the catalog even for `*.col` patterns: an alias must not hide a column.
    this.columnRules = ctx.rules.some((r) => r.columns.length > 0);
  }

  /** Forgets every plan (a DDL statement ran). */
  invalidate(): void {
    this.plain = new Map();
    this.perStatement = new WeakMap();
  }

  /** The plan for a result of `statement` (undefined when unknown), now or once the catalog answered. */
  plan(body: Buffer, statement: InspectedStatement | undefined): RowShape | Promise<RowShape> {
    const key = body.toString('latin1');
    const cache = this.cacheFor(statement);
    const now = Date.now();
    const cached = cache.get(key);
    const generation = this.ctx.catalog.generation(this.ctx.target.name);
    // Without column rules a plan depends on nothing the catalog says: it never expires.
    if (cached && (!this.columnRules || (now - cached.at < CACHE_TTL_MS && cached.generation === generation))) return cached.shape;
    const fields = cached?.shape.fields ?? wire.readRowDescription(body);
    const store = (shape: RowShape) => {
      if (cache.size >= (cache === this.plain ? MAX_PLAIN_SHAPES : MAX_SHAPES_PER_STATEMENT) && !cache.has(key)) cache.clear();
      cache.set(key, { shape, at: Date.now(), generation });
      return shape;
    };
    if (!this.columnRules) return store(RowShape.plan(fields, new Map(), this.ctx.rules, this.ctx.hashKey));

    const { catalog, target, database } = this.ctx;
    const tables = statement?.facts.tables ?? [];
    const relNames = [...new Set(tables.map((t) => t.name))];
    const tableOids = RowShape.tableOids(fields);
    let names = catalog.lookupCached(target.name, database, tableOids);
    // A cached name the statement does not name may be stale: ask again (catalog-names.ts).
    if (names && !this.consistent(fields, names, relNames, statement)) names = null;
    const functions = calledFunctions(statement);
    const rels = catalog.sourcesCached(target.name, database, relNames, functions);
    if (names && rels) return store(this.make(fields, names, rels, statement));
    return Promise.all([
      names ?? catalog.resolve(target, database, this.ctx.principal(), tableOids),
      rels ?? catalog.resolveSources(target, database, this.ctx.principal(), relNames, functions),
    ])
      .then(([n, r]) => store(this.make(fields, n, r, statement)))
      .catch((err: Error) => {
        // Fail closed: without the catalog every table-qualified pattern matches any table and
        // every column without a source takes the strongest column rule. Not cached.
        this.ctx.warn('catalog lookup failed; masking conservatively', err.message);
        return RowShape.plan(fields, null, this.ctx.rules, this.ctx.hashKey, this.sources(statement, [], true));
      });
  }

  /**
   * Whether a COPY TO of `statement` must be withheld: COPY rows name no columns, so while a column
   * rule covers any relation the statement names (or its relations cannot be known) no column rule
   * can be applied to them (copy-out-masking.ts).
   */
  copyWithheld(statement: InspectedStatement | undefined): boolean | Promise<boolean> {
    if (!this.columnRules) return false;
    const unknown = this.unknownSources(statement);
    const relNames = [...new Set((statement?.facts.tables ?? []).map((t) => t.name))];
    const { catalog, target, database } = this.ctx;
    const decide = (rels: readonly RelationSource[]) => this.sources(statement, rels, unknown).derived !== null;
    const functions = calledFunctions(statement);
    const rels = catalog.sourcesCached(target.name, database, relNames, functions);
    if (rels) return decide(rels);
    return catalog.resolveSources(target, database, this.ctx.principal(), relNames, functions).then(decide, (err: Error) => {
      this.ctx.warn('catalog lookup failed; withholding COPY output', err.message);
      return true;
    });
  }

  /**
   * Whether the cached names agree with the statement: every table is one it names, and every
   * column is labelled with its cached name or is an alias of a column the statement names.
   */
  private consistent(fields: readonly wire.RowDescriptionField[], names: ReadonlyMap<number, TableName>, relNames: readonly string[], statement: InspectedStatement | undefined): boolean {
    let identifiers: string[] | undefined;
    for (const f of fields) {
      if (f.tableOid === 0) continue;
      const table = names.get(f.tableOid);
      if (!table || !relNames.includes(table.name)) return false;
      if (f.columnAttr <= 0) continue;
      const column = table.columns?.get(f.columnAttr);
      if (column === f.name) continue;
      if (column === undefined) return false;
      identifiers ??= sqlIdentifiers(statement?.text ?? '').map((n) => n.toLowerCase());
      if (!identifiers.includes(column.toLowerCase())) return false;
    }
    return true;
  }

  private make(fields: readonly wire.RowDescriptionField[], names: ReadonlyMap<number, TableName>, rels: readonly RelationSource[], statement: InspectedStatement | undefined): RowShape {
    const unknown = this.unknownSources(statement);
    return RowShape.plan(fields, names, this.ctx.rules, this.ctx.hashKey, this.sources(statement, rels, unknown));
  }

  private sources(statement: InspectedStatement | undefined, rels: readonly RelationSource[], unknown: boolean): StatementSources {
    const relations: SourceRelation[] = rels.map((r) => ({ table: { schema: r.schema, name: r.name }, columns: r.columns, relkind: r.relkind }));
    const derived = derivedStrategy(this.ctx.rules, relations, unknown);
    if (derived !== null && !this.settingsTainted && calls(statement, SETTING_WRITERS)) {
      // A masked value may now sit in a setting: from here on, reading settings reads it.
      this.settingsTainted = true;
      this.invalidate();
    }
    return {
      tables: statement?.facts.tables ?? [],
      text: statement?.text ?? '',
      derived,
      opaque: strongestColumnStrategy(this.ctx.rules),
      unknown,
    };
  }

  /**
   * Whether a statement's columns may come from relations it does not name: a cursor, an EXECUTE,
   * a CALL; and, once this session has stored a value read from a masked relation in a setting
   * (`set_config(…)` over such a relation), any statement that reads settings back.
   */
  private unknownSources(statement: InspectedStatement | undefined): boolean {
    if (statement === undefined || UNKNOWN_SOURCE_OPERATIONS.has(statement.facts.operation)) return true;
    if (!this.settingsTainted) return false;
    return statement.facts.operation === 'SHOW' || calls(statement, SETTING_READERS) || statement.facts.tables.some((t) => SETTING_VIEWS.has(t.name));
  }

  private cacheFor(statement: InspectedStatement | undefined): Map<string, Cached> {
    if (!this.columnRules || !statement) return this.plain;
    const key = statement.template ?? statement;
    let m = this.perStatement.get(key);
    if (!m) {
      m = new Map();
      this.perStatement.set(key, m);
    }
    return m;
  }
}

/**
 * The functions a statement calls that could be user-defined: names as pg_proc spells them,
 * without those qualified with pg_catalog (built in by construction).
 */
function calledFunctions(statement: InspectedStatement | undefined): string[] {
  const out = new Set<string>();
  for (const f of statement?.functions ?? []) {
    const dot = f.lastIndexOf('.');
    if (dot >= 0 && f.slice(0, dot).replace(/^.*\./, '') === 'pg_catalog') continue;
    out.add(dot >= 0 ? f.slice(dot + 1) : f);
  }
  return [...out];
}

/** Whether the statement calls one of `names` (by its unqualified name). */
function calls(statement: InspectedStatement | undefined, names: ReadonlySet<string>): boolean {
  for (const f of statement?.functions ?? []) if (names.has(f.slice(f.lastIndexOf('.') + 1))) return true;
  return false;
}
