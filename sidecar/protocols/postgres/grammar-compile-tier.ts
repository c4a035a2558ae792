// How V8 compiles the grammar's WASM: with its baseline compiler (Liftoff) only, never tiered up
// to TurboFan. Imported by sql-grammar.ts ahead of libpg-query, which starts compiling its WASM
// as soon as it is imported, so the setting is in place before anything is compiled.
//
// Why: V8 tiers hot WASM functions up to TurboFan, and the grammar's parser is one huge function
// (bison's yyparse) that gets hot within the first statements. Optimising it peaks at tens of MB
// of compiler memory, which glibc keeps, in a sidecar whose memory limit is tight. Liftoff's code
// is a little slower, which only statements that are parsed feel; statements answered from the
// inspection cache are not parsed at all (figures in docs/BENCHMARKS.md, Design measurements).
//
// Why here and not on the command line: Node takes this flag only as a node argument (NODE_OPTIONS
// refuses it), and the sidecar is started by npm, the image's entrypoint, the tests and the bench;
// one place covers them all. Node warns that V8 flags changed at run time may behave unpredictably;
// this one is read when a WASM module is compiled, and in the sidecar none is compiled before it.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
