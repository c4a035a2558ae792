// The grammar's coverage over real statements (test/fixtures/mysql-grammar/corpus.json; the
// figures are in docs/MYSQL.md). A change that parses fewer of them fails here.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initMysqlInspector, inspectMysql, type MysqlDialect } from './sql-inspector.js';
import { lexMysql } from './sql-lexer.js';

const CORPUS = new URL('../../../../test/fixtures/mysql-grammar/corpus.json', import.meta.url);

interface Source {
  origin: string;
  statements: string[];
  /** Whole scripts (a dump), cut into statements by the lexer. */
  scripts?: string[];
}

/** Parsed statements per source, as measured; the rate may rise, never fall. */
const MEASURED: Record<MysqlDialect, Record<string, [number, number]>> = {
  mariadb: { sysbench: [47, 47], 'mariadb-dump': [77, 84], mysql2: [4, 4], 'mariadb-cli': [8, 9], 'migration-tools': [53, 56] },
  mysql: { sysbench: [47, 47], 'mariadb-dump': [74, 84], mysql2: [4, 4], 'mariadb-cli': [8, 9], 'migration-tools': [53, 56] },
};

before(() => initMysqlInspector());

function coverage(dialect: MysqlDialect): Record<string, [number, number]> {
  const corpus = JSON.parse(readFileSync(CORPUS, 'utf8')) as Record<string, Source>;
  const out: Record<string, [number, number]> = {};
  for (const [name, source] of Object.entries(corpus)) {
    const texts = [...source.statements];
    for (const script of source.scripts ?? []) {
      const lexed = lexMysql(script, { dialect });
      assert.ok(lexed.ok, `${name}: a script does not lex`);
      texts.push(...lexed.statements.map((s) => s.text));
    }
    const parsed = texts.filter((t) => inspectMysql(t, { target: 'corpus', dialect }).every((s) => s.error === undefined)).length;
    out[name] = [parsed, texts.length];
  }
  return out;
}

for (const dialect of ['mariadb', 'mysql'] as const) {
  test(`${dialect}: the grammar parses at least what it did over the corpus`, () => {
    const got = coverage(dialect);
    for (const [name, [parsed, total]] of Object.entries(MEASURED[dialect])) {
      assert.equal(got[name]?.[1], total, `${name}: corpus size changed; measure again`);
      assert.ok(got[name]![0] >= parsed, `${name}: ${got[name]![0]}/${total} parsed, measured ${parsed}`);
    }
  });
}
