// The embedded demo target's database (PGlite) is a development dependency: the production image
// leaves it out, so `sidegate local` there without --upstream says which package is missing and
// what to do instead, rather than failing on a module it cannot resolve.
import type { startEmbeddedDemoTarget } from './embedded-demo-target.js';

export type StartEmbeddedDemoTarget = typeof startEmbeddedDemoTarget;

const importDemoTarget = async () => (await import('./embedded-demo-target.js')).startEmbeddedDemoTarget;

export async function loadEmbeddedDemoTarget(
  importModule: () => Promise<StartEmbeddedDemoTarget> = importDemoTarget,
): Promise<StartEmbeddedDemoTarget> {
  try {
    return await importModule();
  } catch (error) {
    const missing = missingPackageOf(error);
    if (missing === undefined) throw error;
    throw new Error(
      `the embedded demo database needs the package ${missing}, which this installation does not include ` +
        `(the production image installs no development dependencies). Point local mode at a real ` +
        `PostgreSQL instead (--policy FILE --credentials FILE --upstream HOST:PORT), or run it from a ` +
        `source checkout after \`npm ci\`.`,
      { cause: error },
    );
  }
}

/** The npm package a failed import could not find; undefined for anything else, our own files included. */
export function missingPackageOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || (error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  return /^Cannot find package '([^']+)'/.exec(error.message)?.[1];
}
