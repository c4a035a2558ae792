// The PostgreSQL grammar (libpg-query, PostgreSQL's own parser compiled to WASM), imported from
// this one module so that the compile setting below is in place before its WASM is compiled.
import './grammar-compile-tier.js';

export { loadModule, parseSync, scanSync } from 'libpg-query';
