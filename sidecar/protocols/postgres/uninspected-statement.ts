// Inspection turned off (`--inspection off`): every client message is one opaque command. Exists
// so benchmarks can show what the pipeline costs without the grammar; a policy must then allow
// the kind `uninspected` explicitly, and no statement text reaches the audit trail.
import type { InspectedStatement } from './sql-inspector.js';

export function uninspected(text: string, opts: { target: string; prepared?: boolean }): InspectedStatement[] {
  if (text.trim() === '') return [];
  return [
    {
      facts: {
        protocol: 'postgres',
        target: opts.target,
        text,
        operation: 'UNINSPECTED',
        kinds: ['uninspected'],
        tables: [],
        flags: opts.prepared ? ['prepared'] : [],
      },
      text,
      queryText: '',
    },
  ];
}
