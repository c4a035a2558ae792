// Worker thread entry: inspects large statement texts with the PostgreSQL grammar off the event
// loop (statement-inspection-pool.ts), so one multi-megabyte statement cannot stall every other
// session's messages for the seconds its parse takes.
import { parentPort } from 'node:worker_threads';
import { initSqlInspector, inspectSql, type InspectOptions } from './sql-inspector.js';
import { settingIndependentSql } from './sql-string-mode.js';

export interface InspectRequest {
  id: number;
  sql: string;
  opts: InspectOptions;
}

await initSqlInspector();
const port = parentPort!;
port.on('message', (req: InspectRequest) => {
  try {
    port.postMessage({ id: req.id, inspected: inspectSql(req.sql, req.opts), mode: settingIndependentSql(req.sql) });
  } catch (err) {
    port.postMessage({ id: req.id, error: (err as Error).message ?? 'inspection failed' });
  }
});
